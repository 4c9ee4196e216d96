using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Core.Provenance;
using Distillery.Models.Checkpoints;
using Distillery.Models.Loading;
using Distillery.Models.Lora;
using Distillery.Training.Language.Configuration;
using Distillery.Training.Language.Objectives;
using Distillery.Training.Trainer;
using static TorchSharp.torch;

namespace Distillery.Training.Language;

/// <summary>
/// A language-model run's LoRA side: adapters attached to the frozen student, the base it must stay (checked on resume by the
/// hash of its weights), and the output, an adapter folder that <c>checkpoint:DIR</c> loads merged into its base.
/// </summary>
public sealed class LoraTraining : IDisposable
{
    private readonly LoraAdapterConfig description;

    private LoraTraining(LoraAdapters adapters, LoraAdapterConfig description)
    {
        Adapters = adapters;
        this.description = description;
    }

    /// <summary>The adapters, attached to the student.</summary>
    public LoraAdapters Adapters { get; }

    /// <summary>
    /// Attaches fresh adapters (seeded by the run's seed) to the student given with --student; when resuming, first refuses a base whose
    /// weights or LoRA settings differ from those the run in --out began with.
    /// </summary>
    public static async Task<LoraTraining> AttachAsync(LmTrainingConfig config, ModelBundle student, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(student);
        var settings = config.Lora ?? throw new ArgumentException("the config has no LoRA settings", nameof(config));
        var baseSha = WeightsHash.Of(student.Model);
        if (config.Resume && ResumeStateStore.FindLatest(config.Out) is not null)
        {
            if (!LoraFolder.IsAdapterFolder(config.Out))
                throw InputException.InFile(Path.Combine(config.Out, LoraFolder.ConfigFile), "is missing, so this run was not a LoRA run or lost its base reference; train into a fresh --out");
            var recorded = await LoraFolder.ReadConfigAsync(config.Out, cancellationToken);
            LoraFolder.CheckBase(recorded, baseSha, "--student");
            if (recorded.Rank != settings.Rank || recorded.Alpha != settings.ResolvedAlpha || !recorded.Targets.SequenceEqual(settings.Targets))
                throw InputException.InField("--lora-rank", $"the run in {config.Out} began with rank {recorded.Rank}, alpha {recorded.Alpha}, targets {string.Join(",", recorded.Targets)}; resume with the same LoRA settings");
        }
        var adapters = LoraAdapters.Attach(student.Model, settings, config.Seed);
        return new LoraTraining(adapters, LoraFolder.Describe(adapters, config.Student ?? student.Spec, baseSha));
    }

    /// <summary>What the trainer optimises and checkpoints: the adapters and the student's projection, if it has one.</summary>
    public nn.Module TrainedModules(DistillationStudent student)
    {
        ArgumentNullException.ThrowIfNull(student);
        return new LoraTrainedModules(Adapters, student.Projection);
    }

    /// <summary>Writes adapter_config.json at the start of a run: the base reference a resumed run is checked against.</summary>
    public Task WriteRunFileAsync(string directory, CancellationToken cancellationToken) => LoraFolder.WriteConfigAsync(directory, description, cancellationToken);

    /// <summary>The lineage's record of the adapters.</summary>
    public LineageLora Lineage() => new(description.Rank, description.Alpha, description.Targets, description.TrainableParameters, description.BaseModel, description.BaseModelSha256);

    /// <summary>Writes the adapter folder: adapter_config.json, adapter_model.safetensors, the tokenizer, the chat template and the lineage.</summary>
    public async Task SaveAsync(string directory, ModelBundle student, Lineage lineage, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(student);
        await LoraFolder.SaveAsync(directory, Adapters, description, cancellationToken);
        await student.Tokenizer.SaveToFolderAsync(directory, cancellationToken);
        await student.ChatTemplate.SaveAsync(directory, cancellationToken);
        await LineageFile.WriteAsync(directory, lineage, cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose() => Adapters.Dispose();
}
