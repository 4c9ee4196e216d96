using System.Collections.Generic;

namespace Distillery.Core.Ledger;

/// <summary>A Batch API job the ledger knows of: Distillery's own job id (in the input file's name and the batch's metadata), the provider's batch id once known, and the requests it holds that are still unanswered.</summary>
/// <param name="JobId">The client job id, recorded before the input file was uploaded.</param>
/// <param name="BatchId">The provider's batch id, or null when the process stopped before it was stored.</param>
/// <param name="Hashes">The request hashes of the job that the ledger does not hold as answered and no later job holds.</param>
public sealed record LedgerBatchJob(string JobId, string? BatchId, IReadOnlyList<string> Hashes);
