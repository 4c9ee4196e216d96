using Distillery.Training.Language.Configuration;

namespace Distillery.Pipeline;

/// <summary>What <see cref="DistilleryPipeline.TrainAsync"/> does: the training run's settings, as <c>train.json</c> holds them.</summary>
public sealed record TrainOptions : PipelineOptions
{
    /// <summary>The run: dataset, output folder, mode, student, teacher, optimiser and loss settings.</summary>
    public required LmTrainingConfig Config { get; init; }
}
