using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distillery.Models.Llama;

/// <summary>Grouped-query causal self-attention with rotary positions (HF names q_proj, k_proj, v_proj, o_proj; Qwen3's q_norm, k_norm).</summary>
public sealed class LlamaAttention : nn.Module
{
    private readonly int heads, kvHeads, headDim;

    /// <summary>Query projection (d → nh·hs).</summary>
    public Linear QProj { get; }

    /// <summary>Key projection (d → n_kv·hs).</summary>
    public Linear KProj { get; }

    /// <summary>Value projection (d → n_kv·hs).</summary>
    public Linear VProj { get; }

    /// <summary>Output projection (nh·hs → d).</summary>
    public Linear OProj { get; }

    /// <summary>Qwen3's RMSNorm over each query head (hs), before rotary; null for other families.</summary>
    public RmsNorm? QNorm { get; }

    /// <summary>Qwen3's RMSNorm over each key head (hs), before rotary; null for other families.</summary>
    public RmsNorm? KNorm { get; }

    /// <summary>Builds the projections for the config.</summary>
    public LlamaAttention(LlamaConfig config) : base(nameof(LlamaAttention))
    {
        heads = config.NumAttentionHeads;
        kvHeads = config.KeyValueHeads;
        headDim = config.HeadDim;
        QProj = nn.Linear(config.HiddenSize, heads * headDim, hasBias: config.AttentionBias);
        KProj = nn.Linear(config.HiddenSize, kvHeads * headDim, hasBias: config.AttentionBias);
        VProj = nn.Linear(config.HiddenSize, kvHeads * headDim, hasBias: config.AttentionBias);
        OProj = nn.Linear(heads * headDim, config.HiddenSize, hasBias: false);
        register_module("q_proj", QProj);
        register_module("k_proj", KProj);
        register_module("v_proj", VProj);
        register_module("o_proj", OProj);
        if (config.QkNorm)
        {
            QNorm = new RmsNorm(headDim, config.RmsNormEps);
            KNorm = new RmsNorm(headDim, config.RmsNormEps);
            register_module("q_norm", QNorm);
            register_module("k_norm", KNorm);
        }
    }

    /// <summary>x (B, T, d) at the positions whose angles are cos/sin (T, hs); with a cache, attends to its past too.</summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        // call, not forward: it runs forward hooks, where LoRA adapters attach (LoraAdapters).
        var q = QProj.call(x).view(b, t, heads, headDim).transpose(1, 2);   // (B, nh, T, hs)
        var k = KProj.call(x).view(b, t, kvHeads, headDim).transpose(1, 2); // (B, n_kv, T, hs)
        if (QNorm is not null) q = QNorm.forward(q);                           // per head, over hs
        if (KNorm is not null) k = KNorm.forward(k);
        var v = VProj.call(x).view(b, t, kvHeads, headDim).transpose(1, 2); // (B, n_kv, T, hs)
        q = Rotary.Apply(q, cos, sin);
        k = Rotary.Apply(k, cos, sin);
        long past = 0;
        if (cache is not null)
        {
            past = cache.Length;
            (k, v) = cache.Append(layer, k, v); // (B, n_kv, past + T, hs)
        }

        Tensor y;
        var rep = heads / kvHeads;
        if (t == 1)
        {
            // One query per sequence sees every key: group the query heads by their shared kv head, no repeat and no mask.
            var grouped = q.reshape(b, kvHeads, rep, headDim);                        // (B, n_kv, rep, hs)
            y = nn.functional.scaled_dot_product_attention(grouped, k, v).reshape(b, 1, heads * headDim); // (B, 1, nh·hs)
        }
        else
        {
            if (rep > 1)
            {
                k = k.repeat_interleave(rep, dim: 1); // (B, nh, S, hs): query head h reads kv head h / rep
                v = v.repeat_interleave(rep, dim: 1);
            }
            if (past == 0)
                y = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
            else
            {
                // Query i sits at position past + i and may see keys 0 … past + i.
                using var mask = ones(t, past + t, dtype: ScalarType.Bool, device: x.device).tril(past);
                y = nn.functional.scaled_dot_product_attention(q, k, v, mask);
            }
            y = y.transpose(1, 2).reshape(b, t, heads * headDim); // (B, T, nh·hs)
        }
        return OProj.call(y).MoveToOuterDisposeScope();
    }
}
