using static TorchSharp.torch;

namespace Distillery.Models.Llama;

/// <summary>One pre-norm decoder block: <c>x += attn(norm(x)); x += mlp(norm(x))</c>.</summary>
public sealed class LlamaBlock : nn.Module
{
    /// <summary>The norm before attention (HF <c>input_layernorm</c>).</summary>
    public RmsNorm InputLayerNorm { get; }

    /// <summary>The attention (HF <c>self_attn</c>).</summary>
    public LlamaAttention SelfAttention { get; }

    /// <summary>The norm before the MLP (HF <c>post_attention_layernorm</c>).</summary>
    public RmsNorm PostAttentionLayerNorm { get; }

    /// <summary>The MLP (HF <c>mlp</c>).</summary>
    public LlamaMlp Mlp { get; }

    /// <summary>Builds the block's parts.</summary>
    public LlamaBlock(LlamaConfig config) : base(nameof(LlamaBlock))
    {
        InputLayerNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        SelfAttention = new LlamaAttention(config);
        PostAttentionLayerNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        Mlp = new LlamaMlp(config);
        register_module("input_layernorm", InputLayerNorm);
        register_module("self_attn", SelfAttention);
        register_module("post_attention_layernorm", PostAttentionLayerNorm);
        register_module("mlp", Mlp);
    }

    /// <summary>x (B, T, d) → (B, T, d).</summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, KvCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        x = x + SelfAttention.Forward(InputLayerNorm.forward(x), cos, sin, cache, layer);
        x = x + Mlp.forward(PostAttentionLayerNorm.forward(x));
        return x.MoveToOuterDisposeScope();
    }
}
