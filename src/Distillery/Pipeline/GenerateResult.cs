using Distillery.Teachers.Labeling;

namespace Distillery.Pipeline;

/// <summary>What <see cref="DistilleryPipeline.GenerateAsync"/> produced.</summary>
/// <param name="DatasetDirectory">The dataset folder (<c>data.jsonl</c>, <c>manifest.json</c>, token logprobs), ready for training.</param>
/// <param name="Summary">Rows, where they came from (teacher, ledger, already present), failures, tokens, cost and time.</param>
public sealed record GenerateResult(string DatasetDirectory, LabelingSummary Summary);
