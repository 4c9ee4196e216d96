using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Errors;
using Distillery.Models.Llama;
using static TorchSharp.torch;

namespace Distillery.Models.Checkpoints;

/// <summary>Copies named weights into a model's parameters, checking every name and shape.</summary>
public static class CheckpointTensors
{
    /// <summary>Assigns float32 arrays by HF name; a missing or misshapen tensor is a one-line error naming it.</summary>
    public static void Assign(LlamaForCausalLM model, IReadOnlyDictionary<string, float[]> weights, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(weights);
        using var noGrad = no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            if (!weights.TryGetValue(name, out var data))
                throw InputException.InFile(source, $"missing tensor '{name}' ({Shape(p.shape)}) that this config needs");
            if (data.Length != p.numel())
                throw InputException.InFile(source, $"tensor '{name}' has {data.Length} values; expected shape {Shape(p.shape)}");
            using var t = tensor(data).view(p.shape);
            p.copy_(t);
        }
    }

    /// <summary>Assigns tensors by HF name (converted to the parameter's dtype); a missing or misshapen one is a one-line error.</summary>
    public static void Assign(LlamaForCausalLM model, Func<string, Tensor?> lookup, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(lookup);
        using var noGrad = no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            using var t = lookup(name) ?? throw InputException.InFile(source, $"missing tensor '{name}' ({Shape(p.shape)}) that config.json implies");
            if (!t.shape.SequenceEqual(p.shape))
                throw InputException.InFile(source, $"tensor '{name}' has shape {Shape(t.shape)}; config.json implies {Shape(p.shape)}");
            p.copy_(t);
        }
    }

    /// <summary>
    /// Throws where <paramref name="config"/> describes more than twice the parameters the file's <paramref name="valuesInFile"/>
    /// could hold: checked before the model is built, so a corrupt size in a header is an error, not an allocation of any size.
    /// A smaller shortfall (a missing tensor) is left to <see cref="Assign(LlamaForCausalLM, Func{string, Tensor?}, string)"/>, which names the tensor.
    /// </summary>
    public static void CheckFits(LlamaConfig config, long valuesInFile, string source)
    {
        ArgumentNullException.ThrowIfNull(config);
        long needed;
        try
        {
            needed = config.ParameterCount;
        }
        catch (OverflowException)
        {
            needed = long.MaxValue;
        }
        if (needed / 2 > valuesInFile)
            throw InputException.InFile(source, $"its configuration describes {needed:N0} parameters but the weights hold only {valuesInFile:N0} values; the header or config is wrong");
    }

    /// <summary>A shape written as [a, b].</summary>
    public static string Shape(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
