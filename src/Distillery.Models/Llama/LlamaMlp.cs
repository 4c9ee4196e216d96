using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distillery.Models.Llama;

/// <summary>The SwiGLU feed-forward: <c>down(silu(gate(x)) · up(x))</c> (HF names gate_proj, up_proj, down_proj).</summary>
public sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    /// <summary>Gate projection (d → ff).</summary>
    public Linear GateProj { get; }

    /// <summary>Up projection (d → ff).</summary>
    public Linear UpProj { get; }

    /// <summary>Down projection (ff → d).</summary>
    public Linear DownProj { get; }

    /// <summary>Builds the three projections.</summary>
    public LlamaMlp(LlamaConfig config) : base(nameof(LlamaMlp))
    {
        GateProj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: false);
        UpProj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: false);
        DownProj = nn.Linear(config.IntermediateSize, config.HiddenSize, hasBias: false);
        register_module("gate_proj", GateProj);
        register_module("up_proj", UpProj);
        register_module("down_proj", DownProj);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // call, not forward: it runs forward hooks, where LoRA adapters attach (LoraAdapters).
        return DownProj.call(nn.functional.silu(GateProj.call(x)) * UpProj.call(x)).MoveToOuterDisposeScope();
    }
}
