using System;
using System.IO;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Policy;
using Distillery.Core.Pricing;

namespace Distillery.Teachers.Labeling;

/// <summary>What a labeling run (`distill generate`) does: which prompts, into which folder, how to sample, how many at once, at what price, within what budget and policy.</summary>
public sealed record LabelingOptions
{
    /// <summary>The prompts file (.jsonl or .txt).</summary>
    public required string PromptsPath { get; init; }

    /// <summary>The dataset folder rows stream into.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>The ledger: a file, or a <c>postgres://</c> URL; null puts <c>ledger.db</c> in the output folder.</summary>
    public string? LedgerPath { get; init; }

    /// <summary>Where the ledger is: <see cref="LedgerPath"/>, else <c>ledger.db</c> in the output folder.</summary>
    public string LedgerLocation => LedgerPath ?? Path.Combine(OutputDirectory, DatasetFolder.LedgerFile);

    /// <summary>How long this process's claims on requests last without renewal (another process takes over a dead one's after that); null: <see cref="Distillery.Core.Ledger.LedgerLease.DefaultDuration"/>.</summary>
    public TimeSpan? ClaimLease { get; init; }

    /// <summary>
    /// Share mode (<c>--take-share</c>): a request another live process holds, or answered during this run, is left to that process
    /// (looked at once more at the end, to take over a dead one's), so the output folder holds this process's share of the job, not all of it.
    /// </summary>
    public bool TakeShare { get; init; }

    /// <summary>In share mode, the share this run's answers belong to in the ledger: the machine and the output folder's full path, the same for every rerun into the folder; null otherwise.</summary>
    public string? ShareId => TakeShare ? $"{Environment.MachineName}:{Path.GetFullPath(OutputDirectory)}" : null;

    /// <summary>Whether the teacher follows Batch API jobs: its claims may take over a request a dead process's batch holds (the teacher waits for that batch).</summary>
    public bool FollowsBatches { get; init; }

    /// <summary>How each completion is sampled.</summary>
    public SamplingParameters Sampling { get; init; } = new();

    /// <summary>Completions per prompt (each its own request in the ledger).</summary>
    public int Samples { get; init; } = 1;

    /// <summary>A system message put first in prompts that have none.</summary>
    public string? SystemPrompt { get; init; }

    /// <summary>Requests in flight at once.</summary>
    public int Concurrency { get; init; } = 4;

    /// <summary>The teacher's price, for cost and the budget.</summary>
    public ModelPrice Price { get; init; } = ModelPrice.Free;

    /// <summary>The most to spend on new requests in this run, in US dollars; null for no limit.</summary>
    public decimal? BudgetUsd { get; init; }

    /// <summary>The terms policy; the teacher and every model it reports must not be denied.</summary>
    public TermsPolicy Policy { get; init; } = TermsPolicy.AllowAll;

    /// <summary>The counters the teacher's wrappers fill in (retries), reported in the summary.</summary>
    public TeacherStatistics? Statistics { get; init; }

    /// <summary>These options for a run through a Batch API: every request handed over at once (no --concurrency limit), priced at the batch price, following batches.</summary>
    public LabelingOptions ThroughBatch() => this with { Concurrency = int.MaxValue, Price = Price.ForBatch(), FollowsBatches = true };
}
