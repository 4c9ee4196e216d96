using System.Collections.Generic;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distillery.Models.Llama;

/// <summary>The decoder body (HF <c>model</c>): token embedding, the blocks, the final norm.</summary>
public sealed class LlamaBackbone : nn.Module
{
    private readonly LlamaConfig config;
    private Tensor cos, sin;

    /// <summary>Token embedding (HF <c>embed_tokens</c>), (V, d).</summary>
    public Embedding EmbedTokens { get; }

    /// <summary>The decoder blocks (HF <c>layers</c>).</summary>
    public ModuleList<LlamaBlock> Layers { get; }

    /// <summary>The final norm (HF <c>norm</c>).</summary>
    public RmsNorm Norm { get; }

    /// <summary>Builds the body for the config.</summary>
    public LlamaBackbone(LlamaConfig config) : base(nameof(LlamaBackbone))
    {
        this.config = config;
        EmbedTokens = nn.Embedding(config.VocabSize, config.HiddenSize);
        Layers = new ModuleList<LlamaBlock>();
        for (var i = 0; i < config.NumHiddenLayers; i++) Layers.Add(new LlamaBlock(config));
        Norm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        register_module("embed_tokens", EmbedTokens);
        register_module("layers", Layers);
        register_module("norm", Norm);
        (cos, sin) = Rotary.Tables(config.MaxPositionEmbeddings, config.HeadDim, config.RopeTheta, config.RopeScaling);
        cos = cos.DetachFromDisposeScope();
        sin = sin.DetachFromDisposeScope();
    }

    /// <summary>ids (B, T) → normed hidden (B, T, d); positions continue the cache's when one is given.</summary>
    public Tensor Forward(Tensor ids, KvCache? cache, List<Tensor>? hiddenStates)
    {
        using var scope = NewDisposeScope();
        var t = ids.shape[1];
        var start = cache?.Length ?? 0;
        if (start + t > config.MaxPositionEmbeddings)
            throw new System.ArgumentException($"{start + t} positions exceed max_position_embeddings ({config.MaxPositionEmbeddings})", nameof(ids));
        var device = EmbedTokens.weight!.device;
        if (cos.device != device)
        {
            // The tables are not parameters, so module.to(device) leaves them behind; follow the weights.
            var (c, s) = (cos.to(device).DetachFromDisposeScope(), sin.to(device).DetachFromDisposeScope());
            cos.Dispose();
            sin.Dispose();
            (cos, sin) = (c, s);
        }
        var cosT = cos.narrow(0, start, t); // (T, hs)
        var sinT = sin.narrow(0, start, t);
        var x = EmbedTokens.forward(ids); // (B, T, d)
        hiddenStates?.Add(x.MoveToOuterDisposeScope());
        for (var i = 0; i < Layers.Count; i++)
        {
            x = Layers[i].Forward(x, cosT, sinT, cache, i);
            if (hiddenStates is not null && i < Layers.Count - 1) hiddenStates.Add(x.MoveToOuterDisposeScope());
        }
        cache?.Advance((int)t);
        x = Norm.forward(x).MoveToOuterDisposeScope();
        hiddenStates?.Add(x);
        return x;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            cos.Dispose();
            sin.Dispose();
        }
        base.Dispose(disposing);
    }
}
