using System;

namespace Distillery.Teachers.Labeling;

/// <summary>Where a labeling run stands: rows done of the total, new tokens, new spend, failures, retries, time.</summary>
public sealed record LabelingProgress(int RowsDone, int RowsTotal, long CompletionTokens, decimal CostUsd, int Failed, int Retries, TimeSpan Elapsed);
