using System;
using Distillery.Models.Lora;
using static TorchSharp.torch;

namespace Distillery.Models.Llama;

/// <summary>
/// A snapshot of a model's weights in the layout fast decoding uses, (out, in) for matrix-vector products: per layer,
/// q, k (for small models also their rotate-half copies) and v in one matrix, gate and up in another. The RMSNorm scales
/// (and √d) are folded into the matrices, which take extra zero columns: the decoder keeps a constant √(d·eps) after the hidden state so that
/// <c>normalize([x, √(d·eps)])·√d</c> is exactly <c>x / √(mean(x²) + eps)</c> in one op.
/// Attached LoRA adapters are folded in (<see cref="LoraAdapters.EffectiveWeight"/>), as their hooks would add them.
/// Immutable and shareable between decoders and threads; take a new one after the model's weights change.
/// </summary>
public sealed class LlamaInferenceWeights : IDisposable
{
    internal sealed record Layer(Tensor Attention, Tensor? AttentionBias, Tensor? QNorm, Tensor? KNorm, Tensor Out, Tensor GateUp, Tensor Down) : IDisposable
    {
        public void Dispose()
        {
            Attention.Dispose();
            AttentionBias?.Dispose();
            QNorm?.Dispose();
            KNorm?.Dispose();
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
        // W (out, d) scaled by the norm's weight and √d, with zero columns for the constant and padding to a multiple
        // of 16 floats so rows stay 64-byte aligned: (out, StateSize).
        StateSize = (config.HiddenSize + 1 + 15) / 16 * 16;
        Tensor Normed(Tensor w, Tensor norm) =>
            cat([w * norm * sqrtWidth, zeros(w.shape[0], StateSize - config.HiddenSize, device: device)], 1).contiguous().DetachFromDisposeScope();
        // Rotate-half rows save ops but cost bandwidth; worth it while they are small (tiny models are bound by op count).
        // Qwen3's per-head norm comes between the projection and rotary, so rotate_half cannot be folded into the rows.
        RotatedRows = !config.QkNorm && (long)(heads + kvHeads) * headDim * config.HiddenSize <= RotatedRowsLimit;
        Layers = new Layer[config.NumHiddenLayers];
        for (var i = 0; i < Layers.Length; i++)
        {
            var block = model.Model.Layers[i];
            var attn = block.SelfAttention;
            Tensor q = LoraAdapters.EffectiveWeight(attn.QProj), k = LoraAdapters.EffectiveWeight(attn.KProj), v = LoraAdapters.EffectiveWeight(attn.VProj);
            // Rows [q | k | v], or [q | k | rotate_half(q) | rotate_half(k) | v]. (out, d)
            var fused = RotatedRows
                ? cat([q, k, RotateRows(q, heads, headDim), RotateRows(k, kvHeads, headDim), v], 0)
                : cat([q, k, v], 0);
            Tensor? bias = null;
            if (attn.QProj.bias is { } qb)
            {
                Tensor kb = attn.KProj.bias!, vb = attn.VProj.bias!;
                bias = (RotatedRows
                        ? cat([qb, kb, RotateRows(qb.unsqueeze(1), heads, headDim).squeeze(1), RotateRows(kb.unsqueeze(1), kvHeads, headDim).squeeze(1), vb], 0)
                        : cat([qb, kb, vb], 0))
                    .contiguous().DetachFromDisposeScope();
            }
            var mlp = block.Mlp;
            Layers[i] = new Layer(
                Normed(fused, block.InputLayerNorm.Weight),
                bias,
                attn.QNorm?.Weight.detach().clone().DetachFromDisposeScope(),
                attn.KNorm?.Weight.detach().clone().DetachFromDisposeScope(),
                LoraAdapters.EffectiveWeight(attn.OProj).DetachFromDisposeScope(),
                Normed(cat([LoraAdapters.EffectiveWeight(mlp.GateProj), LoraAdapters.EffectiveWeight(mlp.UpProj)], 0), block.PostAttentionLayerNorm.Weight),
                LoraAdapters.EffectiveWeight(mlp.DownProj).DetachFromDisposeScope());
        }
        Embed = model.Model.EmbedTokens.weight!.detach().clone().DetachFromDisposeScope();
        Output = Normed(model.LmHead is { } head ? LoraAdapters.EffectiveWeight(head) : model.OutputWeight, model.Model.Norm.Weight); // (V, StateSize)
        NormConstant = Math.Sqrt(config.HiddenSize * config.RmsNormEps);
        var (c, s) = Rotary.Tables(config.MaxPositionEmbeddings, headDim, config.RopeTheta, config.RopeScaling);
        Cos = c.to(device).DetachFromDisposeScope(); // (maxPos, hs)
        Sin = s.to(device).DetachFromDisposeScope();
    }

    /// <summary>The model the snapshot was taken from (its batched forward pass runs prompts).</summary>
    public LlamaForCausalLM Model { get; }

    internal Layer[] Layers { get; }

    internal Tensor Embed { get; }

    /// <summary>The largest (nh + n_kv)·hs·d for which the rotate-half rows are stored rather than computed per token.</summary>
    public const long RotatedRowsLimit = 16 * 1024;

    /// <summary>Whether the attention matrix carries rotate-half copies of the q and k rows.</summary>
    public bool RotatedRows { get; }

    /// <summary>Length of the decoder's state vector: d, the norm constant, zero padding.</summary>
    internal int StateSize { get; }

    internal Tensor Output { get; }

    internal Tensor Cos { get; }

    internal Tensor Sin { get; }

    internal double NormConstant { get; }

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
