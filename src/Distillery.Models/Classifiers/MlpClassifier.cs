using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distillery.Models.Classifiers;

/// <summary>
/// A multilayer perceptron classifier: (dropout) → [linear → ReLU → dropout] per hidden layer → linear to class logits.
/// The nets of Hinton et al. (2015, §3) are <c>[1200, 1200]</c> with dropout (teacher) and <c>[800, 800]</c> without (student).
/// </summary>
public sealed class MlpClassifier : nn.Module<Tensor, Tensor>
{
    private readonly Dropout? inputDropout;
    private readonly ModuleList<Linear> hidden = new();
    private readonly ModuleList<Dropout> dropouts = new();
    private readonly Linear head;

    /// <summary>Builds the network from its blueprint, with PyTorch's default (Kaiming-uniform) initialisation.</summary>
    public MlpClassifier(MlpClassifierConfig config) : base(nameof(MlpClassifier))
    {
        config.Validate();
        Config = config;
        if (config.InputDropout > 0) inputDropout = nn.Dropout(config.InputDropout);
        long fanIn = config.InputSize;
        foreach (var width in config.HiddenSizes)
        {
            hidden.Add(nn.Linear(fanIn, width));
            dropouts.Add(nn.Dropout(config.HiddenDropout));
            fanIn = width;
        }
        head = nn.Linear(fanIn, config.Classes);
        RegisterComponents();
    }

    /// <summary>The blueprint this network was built from.</summary>
    public MlpClassifierConfig Config { get; }

    /// <summary>Maps features (B, InputSize) to class logits (B, Classes).</summary>
    public override Tensor forward(Tensor input)
    {
        var x = inputDropout is null ? input : inputDropout.call(input);
        for (var i = 0; i < hidden.Count; i++)
            x = dropouts[i].call(nn.functional.relu(hidden[i].call(x)));
        return head.call(x);
    }

    /// <summary>The hidden activations after each ReLU (before dropout), for hidden-state matching; (B, width) each.</summary>
    public IReadOnlyList<Tensor> HiddenStates(Tensor input)
    {
        var states = new List<Tensor>(hidden.Count);
        var x = input;
        foreach (var layer in hidden)
        {
            x = nn.functional.relu(layer.call(x));
            states.Add(x);
        }
        return states;
    }
}
