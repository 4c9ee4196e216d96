using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Serialization;

namespace Distillery.Models.Classifiers;

/// <summary>The blueprint of an MLP classifier over feature vectors: widths, classes and dropout.</summary>
/// <param name="InputSize">Features per example (784 for 28×28 images).</param>
/// <param name="HiddenSizes">Width of each hidden ReLU layer, input side first.</param>
/// <param name="Classes">Number of output classes.</param>
/// <param name="HiddenDropout">Dropout probability after each hidden layer (0 for none).</param>
/// <param name="InputDropout">Dropout probability on the input features (0 for none).</param>
public sealed record MlpClassifierConfig(
    [property: JsonPropertyName("input_size")] int InputSize,
    [property: JsonPropertyName("hidden_sizes")] IReadOnlyList<int> HiddenSizes,
    [property: JsonPropertyName("num_classes")] int Classes,
    [property: JsonPropertyName("hidden_dropout")] double HiddenDropout = 0,
    [property: JsonPropertyName("input_dropout")] double InputDropout = 0)
{
    /// <summary>Weights and biases in the network.</summary>
    public long ParameterCount
    {
        get
        {
            long total = 0, fanIn = InputSize;
            foreach (var width in HiddenSizes.Append(Classes))
            {
                total += fanIn * width + width;
                fanIn = width;
            }
            return total;
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (InputSize < 1) throw new ArgumentOutOfRangeException(nameof(InputSize), InputSize, "must be at least 1");
        if (Classes < 2) throw new ArgumentOutOfRangeException(nameof(Classes), Classes, "must be at least 2");
        if (HiddenSizes is null || HiddenSizes.Any(w => w < 1)) throw new ArgumentException("every hidden width must be at least 1", nameof(HiddenSizes));
        if (HiddenDropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(HiddenDropout), HiddenDropout, "must lie in [0, 1)");
        if (InputDropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(InputDropout), InputDropout, "must lie in [0, 1)");
    }
}
