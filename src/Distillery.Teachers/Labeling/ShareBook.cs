using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Ledger;

namespace Distillery.Teachers.Labeling;

/// <summary>
/// Which of the ledger's answers are this folder's share (<c>--take-share</c>): those it answered or wrote, recorded in the ledger under its share id
/// so that a rerun into the folder writes them again, while a process started later leaves them to it.
/// </summary>
/// <param name="Ledger">The run's ledger.</param>
/// <param name="Share">This folder's share id (<see cref="LabelingOptions.ShareId"/>).</param>
/// <param name="Others">The answers that belonged to other shares when the run started.</param>
internal sealed record ShareBook(TeacherLedger Ledger, string Share, IReadOnlySet<string> Others)
{
    /// <summary>Whether the answer of a request belonged to another process's share when the run started (its row is in that folder).</summary>
    public bool IsOthers(string hash) => Others.Contains(hash);

    /// <summary>Records the answer of a request as this folder's, before its row is written (an answer another share took first stays theirs).</summary>
    public Task TakeAsync(string hash) => Ledger.RecordShareAsync(hash, Share, CancellationToken.None);
}
