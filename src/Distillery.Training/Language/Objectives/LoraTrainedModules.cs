using Distillery.Models.Lora;
using Distillery.Training.Losses;
using static TorchSharp.torch;

namespace Distillery.Training.Language.Objectives;

/// <summary>
/// What the trainer optimises and checkpoints in a LoRA run: the adapters and, for hidden-state matching, the projection; the
/// frozen student they are attached to is left out, so resume states hold only these and their optimiser state.
/// </summary>
public sealed class LoraTrainedModules : nn.Module
{
    /// <summary>Registers the adapters and, where given, the projection.</summary>
    public LoraTrainedModules(LoraAdapters adapters, HiddenStateProjection? projection) : base(nameof(LoraTrainedModules))
    {
        System.ArgumentNullException.ThrowIfNull(adapters);
        register_module("lora", adapters);
        if (projection is not null) register_module("projection", projection);
    }
}
