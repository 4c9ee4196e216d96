using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Ledger;

namespace Distillery.Teachers.Batch;

/// <summary>
/// Finds the batches of the jobs the ledger holds open (with unanswered requests): by the stored batch id, or by the job id in a batch's
/// metadata when the process that made it died before storing the id. Several processes may share the ledger, so a job of which no batch
/// can be found is abandoned only when this process holds its requests' claims (its maker is dead: a live one would hold them).
/// </summary>
internal sealed class BatchJobFinder(OpenAiBatchApi api, TeacherLedger ledger)
{
    /// <summary>The open jobs whose batch can be found, each marked as found again. A job without one is left alone: it may be a live process's, uploading.</summary>
    public async Task<List<BatchJob>> FindOpenAsync(CancellationToken cancellationToken)
    {
        var jobs = new List<BatchJob>();
        foreach (var open in await ledger.OpenBatchJobsAsync(cancellationToken))
            if (await BatchOfAsync(open, cancellationToken) is { } job) jobs.Add(job);
        return jobs;
    }

    /// <summary>
    /// The open jobs other than <paramref name="known"/> that hold any of <paramref name="claimed"/> (requests this process has just claimed),
    /// each with its batch; a job among them of which no batch was made is abandoned, so its requests go in a new one.
    /// </summary>
    public async Task<List<BatchJob>> HoldersAsync(IReadOnlyCollection<string> claimed, IReadOnlySet<string> known, CancellationToken cancellationToken)
    {
        var wanted = claimed.ToHashSet(System.StringComparer.Ordinal);
        var jobs = new List<BatchJob>();
        foreach (var open in await ledger.OpenBatchJobsAsync(cancellationToken))
        {
            if (known.Contains(open.JobId) || !open.Hashes.Any(wanted.Contains)) continue;
            if (await BatchOfAsync(open, cancellationToken) is { } job) jobs.Add(job);
            else await ledger.AbandonBatchJobAsync(open.JobId, cancellationToken);
        }
        return jobs;
    }

    /// <summary>The job with its batch (stored, or found by metadata and then stored), or null when no batch of it exists.</summary>
    private async Task<BatchJob?> BatchOfAsync(LedgerBatchJob open, CancellationToken cancellationToken)
    {
        var batchId = open.BatchId ?? await api.FindAsync(open.JobId, cancellationToken);
        if (batchId is null) return null;
        if (open.BatchId is null) await ledger.RecordBatchIdAsync(open.JobId, batchId, cancellationToken);
        return new BatchJob(open.JobId, [.. open.Hashes]) { BatchId = batchId, State = "found again" };
    }
}
