using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace Distillery.Models.Llama;

/// <summary>
/// Fast single-sequence incremental decoding over a snapshot of a model's weights, for generation.
/// Per layer it fuses q/k/v with their rotated copies into one matmul, gate/up into one, and folds the RMSNorm
/// scales into the following weights, so each token costs a few dozen small tensor ops. Build a new decoder
/// after the model's weights change (training); the model's <see cref="LlamaForCausalLM.Forward"/> stays the reference.
/// </summary>
public sealed class LlamaDecoder : IDisposable
{
    private readonly LlamaForCausalLM model;
    private readonly LlamaConfig config;
    private readonly Layer[] layers;
    private readonly Tensor embed, output, cos, sin;
    private readonly Scalar invWidth, eps, one;
    private readonly int heads, kvHeads, headDim;

    private sealed record Layer(Tensor Attention, Tensor? AttentionBias, Tensor Out, Tensor GateUp, Tensor Down) : IDisposable
    {
        public void Dispose()
        {
            Attention.Dispose();
            AttentionBias?.Dispose();
            Out.Dispose();
            GateUp.Dispose();
            Down.Dispose();
        }
    }

    /// <summary>Snapshots the model's weights into the fused inference layout and allocates a KV cache of <paramref name="capacity"/> positions.</summary>
    public LlamaDecoder(LlamaForCausalLM model, int capacity)
    {
        ArgumentNullException.ThrowIfNull(model);
        this.model = model;
        config = model.Config;
        heads = config.NumAttentionHeads;
        kvHeads = config.KeyValueHeads;
        headDim = config.HeadDim;
        var device = model.Model.EmbedTokens.weight!.device;
        Cache = new KvCache(config, 1, capacity, device);
        invWidth = (1.0 / config.HiddenSize).ToScalar();
        eps = config.RmsNormEps.ToScalar();
        one = 1.0.ToScalar();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        layers = new Layer[config.NumHiddenLayers];
        for (var i = 0; i < layers.Length; i++)
        {
            var block = model.Model.Layers[i];
            var attn = block.SelfAttention;
            var n1 = block.InputLayerNorm.Weight;
            Tensor q = attn.QProj.weight!, k = attn.KProj.weight!, v = attn.VProj.weight!;
            // Rows [q | k | v | rotate_half(q) | rotate_half(k)], each scaled by the input norm, transposed for x @ W. (d, nh·hs + 2·n_kv·hs + (nh + n_kv)·hs)
            var fused = cat([q, k, v, RotateRows(q, heads), RotateRows(k, kvHeads)], 0) * n1;
            Tensor? bias = null;
            if (attn.QProj.bias is { } qb)
            {
                Tensor kb = attn.KProj.bias!, vb = attn.VProj.bias!;
                bias = cat([qb, kb, vb, RotateRows(qb.unsqueeze(1), heads).squeeze(1), RotateRows(kb.unsqueeze(1), kvHeads).squeeze(1)], 0).contiguous().DetachFromDisposeScope();
            }
            var mlp = block.Mlp;
            var gateUp = cat([mlp.GateProj.weight!, mlp.UpProj.weight!], 0) * block.PostAttentionLayerNorm.Weight; // (2·ff, d)
            layers[i] = new Layer(
                fused.t().contiguous().DetachFromDisposeScope(),
                bias,
                attn.OProj.weight!.t().contiguous().DetachFromDisposeScope(),
                gateUp.t().contiguous().DetachFromDisposeScope(),
                mlp.DownProj.weight!.t().contiguous().DetachFromDisposeScope());
        }
        embed = model.Model.EmbedTokens.weight!.detach().clone().DetachFromDisposeScope();
        output = (model.OutputWeight * model.Model.Norm.Weight).t().contiguous().DetachFromDisposeScope(); // (d, V)
        var (c, s) = Rotary.Tables(config.MaxPositionEmbeddings, headDim, config.RopeTheta, config.RopeScaling);
        cos = c.to(device).DetachFromDisposeScope();
        sin = s.to(device).DetachFromDisposeScope();
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
        var x = tensor(input, [1, input.Length], device: embed.device); // (1, T)
        var last = model.Forward(x, Cache).Logits[0, -1];               // (V)
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
        var cosP = cos[pos]; // (hs)
        var sinP = sin[pos];
        var x = embed[id].clone(); // (d)
        for (var i = 0; i < layers.Length; i++)
        {
            var layer = layers[i];
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
        CopyOut(x.matmul(output).mul_(InverseRms(x)), logits);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var l in layers) l.Dispose();
        embed.Dispose();
        output.Dispose();
        cos.Dispose();
        sin.Dispose();
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

    /// <summary>Rows of rotate_half(W x) for a q or k weight (heads·hs, d): per head, [−second half; first half].</summary>
    private Tensor RotateRows(Tensor w, int count)
    {
        var perHead = w.view(count, headDim, -1);      // (heads, hs, d)
        var half = headDim / 2;
        var rotated = cat([-perHead.narrow(1, half, half), perHead.narrow(1, 0, half)], 1);
        return rotated.reshape(count * headDim, -1);   // (heads·hs, d)
    }
}
