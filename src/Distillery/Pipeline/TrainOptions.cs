using Distillery.Core.Pricing;
using Distillery.Teachers;
using Distillery.Training.Language.Configuration;

namespace Distillery.Pipeline;

/// <summary>What <see cref="DistilleryPipeline.TrainAsync"/> does: the training run's settings, as <c>train.json</c> holds them.</summary>
public sealed record TrainOptions : PipelineOptions
{
    /// <summary>The run: dataset, output folder, mode, student, teacher, optimiser and loss settings.</summary>
    public required LmTrainingConfig Config { get; init; }

    /// <summary>How an API teacher (<c>openai:MODEL</c>, on-policy) is reached and wrapped: base URL, key variable, timeout, retries, rate limits.</summary>
    public TeacherSettings TeacherSettings { get; init; } = new();

    /// <summary>The ledger an API teacher's scoring requests go through: a file or postgres:// URL; null is <c>ledger.db</c> in the output folder.</summary>
    public string? LedgerPath { get; init; }

    /// <summary>What an API teacher's scoring costs, recorded with each answer in the ledger.</summary>
    public ModelPrice Price { get; init; } = ModelPrice.Free;

    /// <summary>The most an API teacher's new scoring requests may cost in this run, in US dollars (at <see cref="Price"/>); null: no limit.</summary>
    public decimal? BudgetUsd { get; init; }
}
