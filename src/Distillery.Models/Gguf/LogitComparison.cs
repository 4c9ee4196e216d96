using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Models.Llama;
using static TorchSharp.torch;

namespace Distillery.Models.Gguf;

/// <summary>How far another runtime's logits (llama.cpp on an exported file) are from a Distillery model's, position by position.</summary>
public static class LogitComparison
{
    /// <summary>The largest |Δlogit| over every position and vocabulary entry of <paramref name="sequence"/>; <paramref name="reference"/> holds one row per position.</summary>
    public static float LargestError(LlamaForCausalLM model, IReadOnlyList<int> sequence, IReadOnlyList<float[]> reference)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sequence);
        ArgumentNullException.ThrowIfNull(reference);
        if (reference.Count != sequence.Count) throw new ArgumentException($"{reference.Count} reference rows for {sequence.Count} positions", nameof(reference));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.forward(tensor(sequence.Select(i => (long)i).ToArray(), [1, sequence.Count]))[0].to(ScalarType.Float32).contiguous(); // (T, V)
        var ours = logits.data<float>().ToArray();
        var vocab = (int)logits.shape[1];
        var largest = 0f;
        for (var t = 0; t < sequence.Count; t++)
        {
            var row = reference[t];
            var n = Math.Min(vocab, row.Length);
            for (var v = 0; v < n; v++) largest = Math.Max(largest, Math.Abs(ours[t * vocab + v] - row[v]));
        }
        return largest;
    }
}
