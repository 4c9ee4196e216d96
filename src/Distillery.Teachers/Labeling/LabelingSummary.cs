using System;
using System.Collections.Generic;
using Distillery.Core.Policy;

namespace Distillery.Teachers.Labeling;

/// <summary>How a labeling run ended.</summary>
public sealed record LabelingSummary
{
    /// <summary>Rows the run expected (prompts × samples).</summary>
    public int RowsTotal { get; init; }

    /// <summary>Rows in <c>data.jsonl</c> for these prompts when the run ended.</summary>
    public int RowsDone { get; init; }

    /// <summary>Requests the teacher answered in this run.</summary>
    public int Answered { get; init; }

    /// <summary>Rows written from the ledger without asking the teacher.</summary>
    public int FromLedger { get; init; }

    /// <summary>Rows that were already in <c>data.jsonl</c>.</summary>
    public int AlreadyPresent { get; init; }

    /// <summary>Rows left to other live processes in share mode: their requests were held or answered by another process (they are in its folder).</summary>
    public int LeftToOthers { get; init; }

    /// <summary>Requests that failed.</summary>
    public int Failed { get; init; }

    /// <summary>Requests not sent because the budget was reached or a policy stopped the run.</summary>
    public int NotSent { get; init; }

    /// <summary>Retries made.</summary>
    public int Retries { get; init; }

    /// <summary>Completion tokens received in this run.</summary>
    public long CompletionTokens { get; init; }

    /// <summary>Prompt tokens sent in this run.</summary>
    public long PromptTokens { get; init; }

    /// <summary>What this run spent.</summary>
    public decimal CostUsd { get; init; }

    /// <summary>How long the run took.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Whether the budget stopped requests from being sent.</summary>
    public bool BudgetReached { get; init; }

    /// <summary>The policy decisions taken (the teacher, then each reported model).</summary>
    public IReadOnlyList<PolicyDecision> PolicyDecisions { get; init; } = [];

    /// <summary>The first few failures, one line each, for the report.</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>Whether every row was made, here or (in share mode) by the other processes it was left to.</summary>
    public bool Succeeded => Failed == 0 && NotSent == 0 && RowsDone + LeftToOthers == RowsTotal;
}
