using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace Distillery.Models.Llama;

/// <summary>
/// Fast single-sequence incremental decoding: prompts go through the model's batched forward pass, then each token
/// costs a few dozen small tensor ops over <see cref="LlamaInferenceWeights"/> and a preallocated <see cref="KvCache"/>.
/// The model's <see cref="LlamaForCausalLM.Forward"/> stays the reference it is tested against.
/// </summary>
public sealed class LlamaDecoder : IDisposable
{
    private readonly LlamaInferenceWeights weights;
    private readonly LlamaConfig config;
    private readonly Tensor state, x, position;
    private readonly int heads, kvHeads, headDim;

    /// <summary>A decoder over shared weights, with its own KV cache of <paramref name="capacity"/> positions.</summary>
    public LlamaDecoder(LlamaInferenceWeights weights, int capacity)
    {
        ArgumentNullException.ThrowIfNull(weights);
        this.weights = weights;
        config = weights.Model.Config;
        heads = config.NumAttentionHeads;
        kvHeads = config.KeyValueHeads;
        headDim = config.HeadDim;
        var device = weights.Embed.device;
        Cache = new KvCache(config, 1, capacity, device);
        // The residual stream with the norm constant after it: (d + 1). x is a view of its first d entries.
        state = zeros(config.HiddenSize + 1, device: device).DetachFromDisposeScope();
        state[config.HiddenSize] = weights.NormConstant;
        x = state.narrow(0, 0, config.HiddenSize).DetachFromDisposeScope();
        position = zeros(1, dtype: ScalarType.Int64, device: device).DetachFromDisposeScope();
    }

    /// <summary>The cache this decoder fills; <see cref="KvCache.Length"/> is the next position.</summary>
    public KvCache Cache { get; }

    /// <summary>Runs the prompt through the model's batched forward pass into the cache; writes the last position's logits.</summary>
    public void Prefill(IReadOnlyList<int> ids, Span<float> logits)
    {
        ArgumentNullException.ThrowIfNull(ids);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var input = new long[ids.Count];
        for (var i = 0; i < input.Length; i++) input[i] = ids[i];
        var x = tensor(input, [1, input.Length], device: weights.Embed.device); // (1, T)
        var last = weights.Model.Forward(x, Cache).Logits[0, -1];               // (V)
        CopyOut(last, logits);
    }

    /// <summary>Feeds one token at the next position and writes the logits for the token after it.</summary>
    public void Step(int id, Span<float> logits)
    {
        if ((uint)id >= (uint)config.VocabSize) throw new ArgumentOutOfRangeException(nameof(id), id, $"outside the vocabulary (0–{config.VocabSize - 1})");
        var pos = Cache.Length;
        if (pos >= Cache.Capacity) throw new InvalidOperationException($"the KV cache is full ({Cache.Capacity} positions)");
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        long qSize = heads * headDim, kvSize = kvHeads * headDim, rotaryHeads = heads + kvHeads, rep = heads / kvHeads, ff = config.IntermediateSize;
        var cosSin = weights.CosSin[pos]; // (2, 1, hs)
        position.fill_(pos);
        x.copy_(weights.Embed[id]);
        for (var i = 0; i < weights.Layers.Length; i++)
        {
            var layer = weights.Layers[i];
            var a = Normalized().matmul(layer.Attention); // [q | k | rot q | rot k | v], normed by the folded input norm
            if (layer.AttentionBias is { } b) a.add_(b);
            // Rotary: [q | k]·cos + [rot q | rot k]·sin, per head.
            var qk = (a.narrow(0, 0, 2 * rotaryHeads * headDim).view(2, rotaryHeads, headDim) * cosSin).sum(dim: 0, keepdim: false); // (nh + n_kv, hs)
            var (keys, values) = Cache.AppendOne(i, position, qk.narrow(0, heads, kvHeads), a.narrow(0, 2 * rotaryHeads * headDim, kvSize)); // (1, n_kv, pos + 1, hs)
            var q = qk.narrow(0, 0, heads).view(1, kvHeads, rep, headDim);                       // (1, n_kv, rep, hs)
            var y = nn.functional.scaled_dot_product_attention(q, keys, values).view(qSize);   // (nh·hs)
            x.add_(y.matmul(layer.Out));
            var gu = Normalized().matmul(layer.GateUp); // [gate | up] (2·ff)
            var gate = nn.functional.silu(gu.narrow(0, 0, ff), inplace: true);
            x.add_(gate.mul_(gu.narrow(0, ff, ff)).matmul(layer.Down));
        }
        Cache.Advance(1);
        CopyOut(Normalized().matmul(weights.Output), logits);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        x.Dispose();
        state.Dispose();
        position.Dispose();
        Cache.Dispose();
    }

    /// <summary>[x, c] / ‖[x, c]‖ with c = √(d·eps): times √d (folded into the weights) this is x / √(mean(x²) + eps).</summary>
    private Tensor Normalized() => nn.functional.normalize(state, 2.0, 0);

    private static void CopyOut(Tensor logits, Span<float> destination)
    {
        if (logits.device_type == DeviceType.CPU && logits.dtype == ScalarType.Float32)
        {
            logits.data<float>().CopyTo(destination);
            return;
        }
        using var cpu = logits.to(ScalarType.Float32).cpu();
        cpu.data<float>().CopyTo(destination);
    }
}
