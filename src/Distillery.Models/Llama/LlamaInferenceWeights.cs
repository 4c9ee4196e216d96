using System;
using static TorchSharp.torch;

namespace Distillery.Models.Llama;

/// <summary>
/// A snapshot of a model's weights in the layout fast decoding uses, transposed for <c>x @ W</c>: per layer, q, k, their
/// rotate-half copies and v in one matrix, gate and up in another. The RMSNorm scales (and √d) are folded into the
/// matrices, which take one extra zero row: the decoder keeps a constant √(d·eps) after the hidden state so that
/// <c>normalize([x, √(d·eps)])·√d</c> is exactly <c>x / √(mean(x²) + eps)</c> in one op.
/// Immutable and shareable between decoders and threads; take a new one after the model's weights change.
/// </summary>
public sealed class LlamaInferenceWeights : IDisposable
{
    internal sealed record Layer(Tensor Attention, Tensor? AttentionBias, Tensor Out, Tensor GateUp, Tensor Down) : IDisposable
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

    /// <summary>Snapshots the model's current weights.</summary>
    public LlamaInferenceWeights(LlamaForCausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        var config = model.Config;
        int heads = config.NumAttentionHeads, kvHeads = config.KeyValueHeads, headDim = config.HeadDim;
        var device = model.Model.EmbedTokens.weight!.device;
        var sqrtWidth = Math.Sqrt(config.HiddenSize);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // W (out, d) scaled by the norm's weight and √d, transposed, with a zero row for the constant: (d + 1, out).
        Tensor Normed(Tensor w, Tensor norm) => cat([(w * norm * sqrtWidth).t(), zeros(1, w.shape[0], device: device)], 0).contiguous().DetachFromDisposeScope();
        Layers = new Layer[config.NumHiddenLayers];
        for (var i = 0; i < Layers.Length; i++)
        {
            var block = model.Model.Layers[i];
            var attn = block.SelfAttention;
            Tensor q = attn.QProj.weight!, k = attn.KProj.weight!, v = attn.VProj.weight!;
            // Rows [q | k | rotate_half(q) | rotate_half(k) | v]. (2·(nh + n_kv)·hs + n_kv·hs, d)
            var fused = cat([q, k, RotateRows(q, heads, headDim), RotateRows(k, kvHeads, headDim), v], 0);
            Tensor? bias = null;
            if (attn.QProj.bias is { } qb)
            {
                Tensor kb = attn.KProj.bias!, vb = attn.VProj.bias!;
                bias = cat([qb, kb, RotateRows(qb.unsqueeze(1), heads, headDim).squeeze(1), RotateRows(kb.unsqueeze(1), kvHeads, headDim).squeeze(1), vb], 0)
                    .contiguous().DetachFromDisposeScope();
            }
            var mlp = block.Mlp;
            Layers[i] = new Layer(
                Normed(fused, block.InputLayerNorm.Weight),
                bias,
                attn.OProj.weight!.t().contiguous().DetachFromDisposeScope(),
                Normed(cat([mlp.GateProj.weight!, mlp.UpProj.weight!], 0), block.PostAttentionLayerNorm.Weight),
                mlp.DownProj.weight!.t().contiguous().DetachFromDisposeScope());
        }
        Embed = model.Model.EmbedTokens.weight!.detach().clone().DetachFromDisposeScope();
        Output = Normed(model.OutputWeight, model.Model.Norm.Weight); // (d + 1, V)
        NormConstant = Math.Sqrt(config.HiddenSize * config.RmsNormEps);
        var (c, s) = Rotary.Tables(config.MaxPositionEmbeddings, headDim, config.RopeTheta, config.RopeScaling);
        CosSin = stack([c, s], 1).unsqueeze(2).to(device).contiguous().DetachFromDisposeScope(); // (maxPos, 2, 1, hs)
    }

    /// <summary>The model the snapshot was taken from (its batched forward pass runs prompts).</summary>
    public LlamaForCausalLM Model { get; }

    internal Layer[] Layers { get; }

    internal Tensor Embed { get; }

    internal Tensor Output { get; }

    internal Tensor CosSin { get; }

    internal double NormConstant { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var l in Layers) l.Dispose();
        Embed.Dispose();
        Output.Dispose();
        CosSin.Dispose();
    }

    /// <summary>Rows of rotate_half(W x) for a q or k weight (heads·hs, d): per head, [−second half; first half].</summary>
    private static Tensor RotateRows(Tensor w, int count, int headDim)
    {
        var perHead = w.view(count, headDim, -1);      // (heads, hs, d)
        var half = headDim / 2;
        var rotated = cat([-perHead.narrow(1, half, half), perHead.narrow(1, 0, half)], 1);
        return rotated.reshape(count * headDim, -1);   // (heads·hs, d)
    }
}
