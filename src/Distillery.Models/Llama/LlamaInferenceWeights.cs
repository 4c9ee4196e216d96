using System;
using static TorchSharp.torch;

namespace Distillery.Models.Llama;

/// <summary>
/// A snapshot of a model's weights in the fused layout fast decoding uses: per layer, q/k/v and their rotated copies
/// in one matrix and gate/up in another, with the RMSNorm scales folded in; transposed for <c>x @ W</c>.
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
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Layers = new Layer[config.NumHiddenLayers];
        for (var i = 0; i < Layers.Length; i++)
        {
            var block = model.Model.Layers[i];
            var attn = block.SelfAttention;
            Tensor q = attn.QProj.weight!, k = attn.KProj.weight!, v = attn.VProj.weight!;
            // Rows [q | k | v | rotate_half(q) | rotate_half(k)], each scaled by the input norm. (nh·hs + 2·n_kv·hs + (nh + n_kv)·hs, d)
            var fused = cat([q, k, v, RotateRows(q, heads, headDim), RotateRows(k, kvHeads, headDim)], 0) * block.InputLayerNorm.Weight;
            Tensor? bias = null;
            if (attn.QProj.bias is { } qb)
            {
                Tensor kb = attn.KProj.bias!, vb = attn.VProj.bias!;
                bias = cat([qb, kb, vb, RotateRows(qb.unsqueeze(1), heads, headDim).squeeze(1), RotateRows(kb.unsqueeze(1), kvHeads, headDim).squeeze(1)], 0)
                    .contiguous().DetachFromDisposeScope();
            }
            var mlp = block.Mlp;
            var gateUp = cat([mlp.GateProj.weight!, mlp.UpProj.weight!], 0) * block.PostAttentionLayerNorm.Weight; // (2·ff, d)
            Layers[i] = new Layer(
                fused.t().contiguous().DetachFromDisposeScope(),
                bias,
                attn.OProj.weight!.t().contiguous().DetachFromDisposeScope(),
                gateUp.t().contiguous().DetachFromDisposeScope(),
                mlp.DownProj.weight!.t().contiguous().DetachFromDisposeScope());
        }
        Embed = model.Model.EmbedTokens.weight!.detach().clone().DetachFromDisposeScope();
        Output = (model.OutputWeight * model.Model.Norm.Weight).t().contiguous().DetachFromDisposeScope(); // (d, V)
        var (c, s) = Rotary.Tables(config.MaxPositionEmbeddings, headDim, config.RopeTheta, config.RopeScaling);
        Cos = c.to(device).DetachFromDisposeScope();
        Sin = s.to(device).DetachFromDisposeScope();
    }

    /// <summary>The model the snapshot was taken from (its batched forward pass runs prompts).</summary>
    public LlamaForCausalLM Model { get; }

    internal Layer[] Layers { get; }

    internal Tensor Embed { get; }

    internal Tensor Output { get; }

    internal Tensor Cos { get; }

    internal Tensor Sin { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var l in Layers) l.Dispose();
        Embed.Dispose();
        Output.Dispose();
        Cos.Dispose();
        Sin.Dispose();
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
