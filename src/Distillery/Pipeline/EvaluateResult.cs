using System.Collections.Generic;
using Distillery.Evaluation.Reports;

namespace Distillery.Pipeline;

/// <summary>What <see cref="DistilleryPipeline.EvaluateAsync"/> produced.</summary>
/// <param name="Report">Each model's scores, the side-by-side samples and the teachers' share of the training data.</param>
/// <param name="ReportFiles">The files written into the report folder; empty where none was asked for.</param>
public sealed record EvaluateResult(EvaluationReport Report, IReadOnlyList<string> ReportFiles);
