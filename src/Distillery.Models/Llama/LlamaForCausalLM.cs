using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distillery.Models.Llama;

/// <summary>A Llama-family causal language model: the decoder body and its LM head, with Hugging Face parameter names.</summary>
public sealed class LlamaForCausalLM : nn.Module<Tensor, Tensor>
{
    /// <summary>The blueprint this model was built from.</summary>
    public LlamaConfig Config { get; }

    /// <summary>The decoder body (HF <c>model</c>).</summary>
    public LlamaBackbone Model { get; }

    /// <summary>The LM head (HF <c>lm_head</c>), or null when it is tied to the token embedding.</summary>
    public Linear? LmHead { get; }

    /// <summary>Builds a model with PyTorch's default initialisation; see <see cref="Create"/> for a seeded one.</summary>
    public LlamaForCausalLM(LlamaConfig config) : base(nameof(LlamaForCausalLM))
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config.Validate();
        Model = new LlamaBackbone(config);
        register_module("model", Model);
        if (!config.TieWordEmbeddings)
        {
            LmHead = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false);
            register_module("lm_head", LmHead);
        }
    }

    /// <summary>A randomly initialised model: weights N(0, initializer_range) from the seed, norm scales one, biases zero.</summary>
    public static LlamaForCausalLM Create(LlamaConfig config, long seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        Runtime.TorchRuntime.EnsureLoaded();
        var model = new LlamaForCausalLM(config);
        using var generator = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.fill_(1.0f);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
            else p.normal_(0, config.InitializerRange, generator);
        }
        return model;
    }

    /// <summary>The number of parameters this model holds (equals <see cref="LlamaConfig.ParameterCount"/>).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>The weight that maps hidden states to logits: lm_head.weight, or the token embedding when tied. (V, d)</summary>
    public Tensor OutputWeight => LmHead?.weight ?? Model.EmbedTokens.weight!;

    /// <summary>ids (B, T) int64 → logits (B, T, V). Right-padded batches need no mask: padding only follows real tokens.</summary>
    public override Tensor forward(Tensor ids) => Forward(ids).Logits;

    /// <summary>ids (B, T) → logits (B, T, V) and, when asked, every layer's hidden states; with a cache, continues it.</summary>
    public CausalLmOutput Forward(Tensor ids, KvCache? cache = null, bool outputHiddenStates = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.dim() != 2) throw new ArgumentException($"ids must be (B, T); got ({string.Join(", ", ids.shape)})", nameof(ids));
        using var scope = NewDisposeScope();
        var hidden = outputHiddenStates ? new List<Tensor>() : null;
        var x = Model.Forward(ids, cache, hidden);             // (B, T, d)
        var logits = LmHead?.call(x) ?? nn.functional.linear(x, OutputWeight); // (B, T, V)
        logits.MoveToOuterDisposeScope();
        if (hidden is not null)
            foreach (var h in hidden) h.MoveToOuterDisposeScope();
        return new CausalLmOutput(logits, hidden);
    }

    /// <summary>ids (B, T) → log-softmax of the logits (B, T, V) in float32: row t is the distribution of token t + 1.</summary>
    public Tensor LogProbs(Tensor ids)
    {
        using var scope = NewDisposeScope();
        var logits = Forward(ids).Logits;
        return logits.to(ScalarType.Float32).log_softmax(-1).MoveToOuterDisposeScope();
    }
}
