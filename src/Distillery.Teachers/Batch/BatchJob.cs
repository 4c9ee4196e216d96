using System.Collections.Generic;

namespace Distillery.Teachers.Batch;

/// <summary>One input file and its batch, as a run follows it: the client job id, the requests it holds, the provider's batch id once known, and the batch's last state and counts.</summary>
internal sealed class BatchJob(string jobId, List<string> hashes)
{
    /// <summary>Distillery's job id (in the input file's name and the batch metadata).</summary>
    public string JobId { get; } = jobId;

    /// <summary>The request hashes of the job (its file's custom ids).</summary>
    public List<string> Hashes { get; } = hashes;

    /// <summary>The provider's batch id; null while the file is uploading.</summary>
    public string? BatchId { get; set; }

    /// <summary>The batch's state as last seen (or uploading, found again, collected).</summary>
    public string State { get; set; } = "";

    /// <summary>Requests in the batch.</summary>
    public int Total { get; set; } = hashes.Count;

    /// <summary>Requests answered so far.</summary>
    public int Completed { get; set; }

    /// <summary>Requests that failed so far.</summary>
    public int Failed { get; set; }

    /// <summary>The job as progress shows it.</summary>
    public BatchJobState Snapshot() => new(JobId, BatchId, State, Total, Completed, Failed);
}
