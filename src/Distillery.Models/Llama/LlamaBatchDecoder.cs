using System;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace Distillery.Models.Llama;

/// <summary>
/// <see cref="LlamaDecoder"/>'s fused step for B rows at once: prompts go through the model's batched forward pass, then
/// each position costs a few dozen small tensor ops over <see cref="LlamaInferenceWeights"/> (matrix-matrix products where
/// the single stream has matrix-vector ones) and a preallocated (B, …) <see cref="KvCache"/>. Every row is at the same position.
/// </summary>
public sealed class LlamaBatchDecoder : IBatchDecoder
{
    private readonly LlamaInferenceWeights weights;
    private readonly bool ownsWeights;
    private readonly LlamaConfig config;
    private readonly Device device;
    // Preallocated state and buffers, with views made once: a step writes into them in place.
    private readonly Tensor state, x, position, attention, guBuffer, logitsBuffer;
    private readonly Tensor qk, q, k, v, gate, up, qHeads, kHeads;
    private readonly Tensor? rotatedQk, firstHalf, secondHalf;
    // Per layer, the snapshot's (out, in) matrices as (in, out) views for x·Wᵀ.
    private readonly Tensor[] attentionT, outT, gateUpT, downT;
    private readonly Tensor outputT;
    private readonly Tensor[] keep;
    private readonly Scalar one = 1.0.ToScalar();

    /// <summary>A decoder of <paramref name="rows"/> sequences over shared weights, with its own KV cache of <paramref name="capacity"/> positions.</summary>
    public LlamaBatchDecoder(LlamaInferenceWeights weights, int rows, int capacity) : this(weights, rows, capacity, ownsWeights: false)
    {
    }

    private LlamaBatchDecoder(LlamaInferenceWeights weights, int rows, int capacity, bool ownsWeights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        this.weights = weights;
        this.ownsWeights = ownsWeights;
        config = weights.Model.Config;
        Rows = rows;
        int heads = config.NumAttentionHeads, kvHeads = config.KeyValueHeads, headDim = config.HeadDim;
        device = weights.Embed.device;
        Cache = new KvCache(config, rows, capacity, device);
        using var scope = NewDisposeScope();
        // Per row: the residual stream, then the norm constant, then zero padding: (B, StateSize). x is a view of the first d columns.
        state = zeros(rows, weights.StateSize, device: device);
        state.narrow(1, config.HiddenSize, 1).fill_(weights.NormConstant);
        x = state.narrow(1, 0, config.HiddenSize); // (B, d)
        position = zeros(1, dtype: ScalarType.Int64, device: device);
        long rotary = (heads + kvHeads) * (long)headDim, kvSize = kvHeads * (long)headDim, ff = config.IntermediateSize;
        var rotatedSize = weights.RotatedRows ? rotary : 0;
        attention = zeros(rows, rotary + rotatedSize + kvSize, device: device);             // (B, [q | k | (rot q | rot k) | v])
        qk = attention.narrow(1, 0, rotary).view(rows, heads + kvHeads, headDim);          // (B, nh + n_kv, hs)
        if (weights.RotatedRows) rotatedQk = attention.narrow(1, rotary, rotary).view(rows, heads + kvHeads, headDim);
        else
        {
            firstHalf = qk.narrow(2, 0, headDim / 2);
            secondHalf = qk.narrow(2, headDim / 2, headDim / 2);
        }
        qHeads = qk.narrow(1, 0, heads);       // (B, nh, hs)
        kHeads = qk.narrow(1, heads, kvHeads); // (B, n_kv, hs)
        q = attention.narrow(1, 0, heads * (long)headDim).view(rows, kvHeads, heads / kvHeads, headDim); // (B, n_kv, rep, hs)
        k = attention.narrow(1, heads * (long)headDim, kvSize).view(rows, kvHeads, 1, headDim);          // (B, n_kv, 1, hs)
        v = attention.narrow(1, rotary + rotatedSize, kvSize).view(rows, kvHeads, 1, headDim);
        guBuffer = zeros(rows, 2 * ff, device: device);                                     // (B, [gate | up])
        gate = guBuffer.narrow(1, 0, ff);
        up = guBuffer.narrow(1, ff, ff);
        logitsBuffer = zeros(rows, config.VocabSize, device: device);                      // (B, V)
        attentionT = [.. weights.Layers.Select(l => l.Attention.t())];
        outT = [.. weights.Layers.Select(l => l.Out.t())];
        gateUpT = [.. weights.Layers.Select(l => l.GateUp.t())];
        downT = [.. weights.Layers.Select(l => l.Down.t())];
        outputT = weights.Output.t();
        keep = [state, x, position, attention, qk, qHeads, kHeads, q, k, v, guBuffer, gate, up, logitsBuffer, outputT,
            .. attentionT, .. outT, .. gateUpT, .. downT, .. new[] { rotatedQk, firstHalf, secondHalf }.OfType<Tensor>()];
        foreach (var t in keep) t.DetachFromDisposeScope();
    }

    /// <summary>A decoder over a fresh snapshot of <paramref name="model"/>'s current weights, which it disposes with itself.</summary>
    public static LlamaBatchDecoder Snapshot(LlamaForCausalLM model, int rows, int capacity)
    {
        var weights = new LlamaInferenceWeights(model);
        try
        {
            return new LlamaBatchDecoder(weights, rows, capacity, ownsWeights: true);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public int Rows { get; }

    /// <inheritdoc />
    public KvCache Cache { get; }

    /// <inheritdoc />
    public void Prefill(ReadOnlySpan<long> ids, int length, Span<float> logits) => ModuleBatchDecoder.Forward(weights.Model, Cache, ids, length, logits);

    /// <inheritdoc />
    public void Step(ReadOnlySpan<long> ids, Span<float> logits)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(ids.Length, Rows, nameof(ids));
        foreach (var id in ids)
            if ((ulong)id >= (ulong)config.VocabSize) throw new ArgumentOutOfRangeException(nameof(ids), id, $"outside the vocabulary (0–{config.VocabSize - 1})");
        var pos = Cache.Length;
        if (pos >= Cache.Capacity) throw new InvalidOperationException($"the KV cache is full ({Cache.Capacity} positions)");
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var cos = weights.Cos[pos]; // (hs), broadcast over (B, heads, hs)
        var sin = weights.Sin[pos];
        position.fill_(pos);
        var rowsIds = tensor(ids.ToArray(), [Rows], ScalarType.Int64);
        x.copy_(weights.Embed.index_select(0, device.type == DeviceType.CPU ? rowsIds : rowsIds.to(device))); // (B, d)
        for (var i = 0; i < weights.Layers.Length; i++)
        {
            var layer = weights.Layers[i];
            attention.addmm_(Normalized(), attentionT[i], 0, 1); // (B, [q | k | rot q | rot k | v]), input norm folded in
            if (layer.AttentionBias is { } b) attention.add_(b);
            if (layer.QNorm is { } qn) qHeads.copy_(RmsNorm.Normalize(qHeads, qn, config.RmsNormEps)); // Qwen3: per head, before rotary
            if (layer.KNorm is { } kn) kHeads.copy_(RmsNorm.Normalize(kHeads, kn, config.RmsNormEps));
            // Rotary, per head: [q | k]·cos + rotate_half([q | k])·sin, the rotated half stored or computed.
            var rotated = rotatedQk ?? cat([secondHalf!.neg(), firstHalf!], 2);
            qk.mul_(cos).addcmul_(rotated, sin, one);
            var (keys, values) = Cache.AppendOne(i, position, k, v);                 // (B, n_kv, pos + 1, hs)
            var y = nn.functional.scaled_dot_product_attention(q, keys, values);     // (B, n_kv, rep, hs)
            x.addmm_(y.view(Rows, -1), outT[i], 1, 1);                             // x += o_proj(y); (B, nh·hs)
            guBuffer.addmm_(Normalized(), gateUpT[i], 0, 1);                       // (B, [gate | up]), post-attention norm folded in
            nn.functional.silu(gate, inplace: true).mul_(up);
            x.addmm_(gate, downT[i], 1, 1);                                        // x += down_proj(silu(gate) · up)
        }
        Cache.Advance(1);
        logitsBuffer.addmm_(Normalized(), outputT, 0, 1);
        ModuleBatchDecoder.CopyOut(logitsBuffer, logits);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in keep) t.Dispose();
        one.Dispose();
        Cache.Dispose();
        if (ownsWeights) weights.Dispose();
    }

    /// <summary>Each row's [x, c] / ‖[x, c]‖ with c = √(d·eps): times √d (folded into the weights) this is x / √(mean(x²) + eps).</summary>
    private Tensor Normalized() => nn.functional.normalize(state, 2.0, 1);
}
