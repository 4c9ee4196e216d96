using System;

namespace Distillery.Core.Ledger;

/// <summary>Who claims requests in a shared ledger and for how long: a claim not renewed within <paramref name="Duration"/> is taken over by another process.</summary>
/// <param name="Owner">This process's owner id: machine, process id and a random part, unique across machines and restarts.</param>
/// <param name="Duration">How long a claim lasts without renewal; a live owner renews it every third of that.</param>
/// <param name="FollowsBatches">
/// Whether the owner follows Batch API jobs (<c>--batch</c>): it may take over a request a batch of a dead process holds, and waits for that
/// batch rather than sending the request again. An owner that does not follow batches counts such a request as held (see <see cref="TeacherLedger.BatchHoldLimit"/>).
/// </param>
public sealed record LedgerLease(string Owner, TimeSpan Duration, bool FollowsBatches = false)
{
    /// <summary>The default claim lifetime: long enough for a slow request's renewals to land, short enough that a dead process's work is soon taken over.</summary>
    public static TimeSpan DefaultDuration { get; } = TimeSpan.FromSeconds(30);

    /// <summary>A new lease owner for this process.</summary>
    public static LedgerLease ForThisProcess(TimeSpan? duration = null, bool followsBatches = false)
    {
        var lease = duration ?? DefaultDuration;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero, nameof(duration));
        return new LedgerLease($"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}", lease, followsBatches);
    }

    /// <summary>When a claim taken or renewed at <paramref name="now"/> runs out.</summary>
    public DateTimeOffset Until(DateTimeOffset now) => now + Duration;
}
