using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace Distillery.Models.Llama;

/// <summary>What a forward pass returns: logits (B, T, V) and, on request, the hidden states (B, T, d) HF-style.</summary>
/// <param name="Logits">Unnormalised next-token scores, float32, (B, T, V).</param>
/// <param name="HiddenStates">null unless asked for; else L + 1 tensors: the embeddings, each block's output, the last one after the final norm.</param>
public sealed record CausalLmOutput(Tensor Logits, IReadOnlyList<Tensor>? HiddenStates) : IDisposable
{
    /// <inheritdoc />
    public void Dispose()
    {
        Logits.Dispose();
        if (HiddenStates is null) return;
        foreach (var h in HiddenStates) h.Dispose();
    }
}
