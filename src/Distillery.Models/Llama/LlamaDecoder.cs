using System;
using System.Collections.Generic;
using System.Linq;
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
    private readonly int heads, kvHeads, headDim;
    // Preallocated state and buffers, with views made once: a step writes into them in place.
    private readonly Tensor state, x, position, attention, guBuffer, logitsBuffer;
    private readonly Tensor qk, q, k, v, gate, up, qHeads, kHeads;
    private readonly Tensor? rotatedQk, firstHalf, secondHalf;
    private readonly Tensor[] keep;
    private readonly Scalar one = 1.0.ToScalar();

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
        using var scope = NewDisposeScope();
        // The residual stream, then the norm constant, then zero padding: (StateSize). x is a view of its first d entries.
        state = zeros(weights.StateSize, device: device);
        state[config.HiddenSize] = weights.NormConstant;
        x = state.narrow(0, 0, config.HiddenSize);
        position = zeros(1, dtype: ScalarType.Int64, device: device);
        long rotary = (heads + kvHeads) * (long)headDim, kvSize = kvHeads * (long)headDim, ff = config.IntermediateSize;
        var rotatedSize = weights.RotatedRows ? rotary : 0;
        attention = zeros(rotary + rotatedSize + kvSize, device: device);             // [q | k | (rot q | rot k) | v]
        qk = attention.narrow(0, 0, rotary).view(heads + kvHeads, headDim);          // (nh + n_kv, hs)
        if (weights.RotatedRows) rotatedQk = attention.narrow(0, rotary, rotary).view(heads + kvHeads, headDim);
        else
        {
            firstHalf = qk.narrow(1, 0, headDim / 2);
            secondHalf = qk.narrow(1, headDim / 2, headDim / 2);
        }
        qHeads = qk.narrow(0, 0, heads);       // (nh, hs)
        kHeads = qk.narrow(0, heads, kvHeads); // (n_kv, hs)
        q = attention.narrow(0, 0, heads * (long)headDim).view(1, kvHeads, heads / kvHeads, headDim); // (1, n_kv, rep, hs)
        k = attention.narrow(0, heads * (long)headDim, kvSize).view(1, kvHeads, 1, headDim);          // (1, n_kv, 1, hs)
        v = attention.narrow(0, rotary + rotatedSize, kvSize).view(1, kvHeads, 1, headDim);
        guBuffer = zeros(2 * ff, device: device);                                     // [gate | up]
        gate = guBuffer.narrow(0, 0, ff);
        up = guBuffer.narrow(0, ff, ff);
        logitsBuffer = zeros(config.VocabSize, device: device);
        keep = [state, x, position, attention, qk, qHeads, kHeads, q, k, v, guBuffer, gate, up, logitsBuffer, .. new[] { rotatedQk, firstHalf, secondHalf }.OfType<Tensor>()];
        foreach (var t in keep) t.DetachFromDisposeScope();
    }

    /// <summary>The cache this decoder fills; <see cref="KvCache.Length"/> is the next position.</summary>
    public KvCache Cache { get; }

    /// <summary>
    /// Runs the prompt through the model's batched forward pass into the cache; writes the last position's logits
    /// (or, with <paramref name="logSoftmax"/>, their log-softmax, computed by libtorch before the copy).
    /// </summary>
    public void Prefill(IReadOnlyList<int> ids, Span<float> logits, bool logSoftmax = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var input = new long[ids.Count];
        for (var i = 0; i < input.Length; i++) input[i] = ids[i];
        var x = tensor(input, [1, input.Length], device: weights.Embed.device); // (1, T)
        var last = weights.Model.Forward(x, Cache).Logits[0, -1];               // (V)
        CopyOut(logSoftmax ? last.log_softmax(0) : last, logits);
    }

    /// <summary>Feeds one token at the next position and writes the logits for the token after it (or their log-softmax).</summary>
    public void Step(int id, Span<float> logits, bool logSoftmax = false)
    {
        if ((uint)id >= (uint)config.VocabSize) throw new ArgumentOutOfRangeException(nameof(id), id, $"outside the vocabulary (0–{config.VocabSize - 1})");
        var pos = Cache.Length;
        if (pos >= Cache.Capacity) throw new InvalidOperationException($"the KV cache is full ({Cache.Capacity} positions)");
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var cos = weights.Cos[pos]; // (hs)
        var sin = weights.Sin[pos];
        position.fill_(pos);
        x.copy_(weights.Embed[id]);
        for (var i = 0; i < weights.Layers.Length; i++)
        {
            var layer = weights.Layers[i];
            attention.addmv_(layer.Attention, Normalized(), 0, 1); // [q | k | rot q | rot k | v], input norm folded in
            if (layer.AttentionBias is { } b) attention.add_(b);
            if (layer.QNorm is { } qn) qHeads.copy_(RmsNorm.Normalize(qHeads, qn, config.RmsNormEps)); // Qwen3: per head, before rotary
            if (layer.KNorm is { } kn) kHeads.copy_(RmsNorm.Normalize(kHeads, kn, config.RmsNormEps));
            // Rotary, per head: [q | k]·cos + rotate_half([q | k])·sin, the rotated half stored or computed.
            var rotated = rotatedQk ?? cat([secondHalf!.neg(), firstHalf!], 1);
            qk.mul_(cos).addcmul_(rotated, sin, one);
            var (keys, values) = Cache.AppendOne(i, position, k, v); // (1, n_kv, pos + 1, hs)
            var y = nn.functional.scaled_dot_product_attention(q, keys, values); // (1, n_kv, rep, hs)
            x.addmv_(layer.Out, y.view(-1), 1, 1);                  // x += o_proj(y)
            guBuffer.addmv_(layer.GateUp, Normalized(), 0, 1);      // [gate | up], post-attention norm folded in
            nn.functional.silu(gate, inplace: true).mul_(up);
            x.addmv_(layer.Down, gate, 1, 1);                       // x += down_proj(silu(gate) · up)
        }
        Cache.Advance(1);
        logitsBuffer.addmv_(weights.Output, Normalized(), 0, 1);
        CopyOut(logSoftmax ? logitsBuffer.log_softmax(0) : logitsBuffer, logits);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in keep) t.Dispose();
        one.Dispose();
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
