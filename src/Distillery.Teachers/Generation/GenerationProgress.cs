using System;

namespace Distillery.Teachers.Generation;

/// <summary>Where a generation run stands: rows done of the total, new tokens, new spend, failures, retries, time.</summary>
public sealed record GenerationProgress(int RowsDone, int RowsTotal, long CompletionTokens, decimal CostUsd, int Failed, int Retries, TimeSpan Elapsed);
