using System.Collections.Generic;

namespace Distillery.Teachers.Batch;

/// <summary>One batch as last seen: the client job id, the provider's batch id, its state and its request counts.</summary>
/// <param name="JobId">Distillery's job id (in the input file's name and the batch metadata).</param>
/// <param name="BatchId">The provider's batch id; null while the file is uploading.</param>
/// <param name="State">validating, in_progress, finalizing, completed, failed, expired, cancelling, cancelled (or uploading, collected).</param>
/// <param name="Total">Requests in the batch.</param>
/// <param name="Completed">Requests answered so far.</param>
/// <param name="Failed">Requests that failed so far.</param>
public sealed record BatchJobState(string JobId, string? BatchId, string State, int Total, int Completed, int Failed);

/// <summary>Where the Batch API work stands: every batch this run follows, the requests gathering for the next file, and a warning when one just arose.</summary>
public sealed record BatchProgress(IReadOnlyList<BatchJobState> Jobs, int Gathering, string? Warning = null);
