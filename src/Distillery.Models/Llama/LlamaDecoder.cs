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
    private readonly Scalar invWidth, eps, one;
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
        Cache = new KvCache(config, 1, capacity, weights.Embed.device);
        invWidth = (1.0 / config.HiddenSize).ToScalar();
        eps = config.RmsNormEps.ToScalar();
        one = 1.0.ToScalar();
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
        long qSize = heads * headDim, kvSize = kvHeads * headDim, rep = heads / kvHeads;
        var cosP = weights.Cos[pos]; // (hs)
        var sinP = weights.Sin[pos];
        var x = weights.Embed[id].clone(); // (d)
        for (var i = 0; i < weights.Layers.Length; i++)
        {
            var layer = weights.Layers[i];
            var a = x.matmul(layer.Attention).mul_(InverseRms(x)); // (nh·hs + 2·n_kv·hs + (nh + n_kv)·hs)
            if (layer.AttentionBias is { } b) a.add_(b);
            // Rotate q and k in place: [q | k] · cos + [rot q | rot k] · sin, per head.
            var qk = a.narrow(0, 0, qSize + kvSize).view(heads + kvHeads, headDim);                 // (nh + n_kv, hs)
            var rotated = a.narrow(0, qSize + 2 * kvSize, qSize + kvSize).view(heads + kvHeads, headDim);
            qk.mul_(cosP).addcmul_(rotated, sinP, one);
            var (keys, values) = Cache.AppendOne(i, a.narrow(0, qSize, kvSize), a.narrow(0, qSize + kvSize, kvSize)); // (1, n_kv, pos + 1, hs)
            var q = a.narrow(0, 0, qSize).view(1, kvHeads, rep, headDim);                           // (1, n_kv, rep, hs)
            var y = nn.functional.scaled_dot_product_attention(q, keys, values).view(qSize);        // (nh·hs)
            x.add_(y.matmul(layer.Out));
            var gu = x.matmul(layer.GateUp).mul_(InverseRms(x)); // (2·ff)
            var ff = gu.shape[0] / 2;
            var gate = nn.functional.silu(gu.narrow(0, 0, ff), inplace: true);
            x.add_(gate.mul_(gu.narrow(0, ff, ff)).matmul(layer.Down));
        }
        Cache.Advance(1);
        CopyOut(x.matmul(weights.Output).mul_(InverseRms(x)), logits);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        invWidth.Dispose();
        eps.Dispose();
        one.Dispose();
        Cache.Dispose();
    }

    private Tensor InverseRms(Tensor x) => x.dot(x).mul_(invWidth).add_(eps).rsqrt_(); // 1 / sqrt(mean(x²) + eps)

    private static void CopyOut(Tensor logits, Span<float> destination)
    {
        using var cpu = logits.device_type == DeviceType.CPU ? logits.alias() : logits.cpu();
        using var f32 = cpu.to(ScalarType.Float32);
        f32.data<float>().CopyTo(destination);
    }
}
