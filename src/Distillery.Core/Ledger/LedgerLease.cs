using System;

namespace Distillery.Core.Ledger;

/// <summary>Who claims requests in a shared ledger and for how long: a claim not renewed within <paramref name="Duration"/> is taken over by another process.</summary>
/// <param name="Owner">This process's owner id: machine, process id and a random part, unique across machines and restarts.</param>
/// <param name="Duration">How long a claim lasts without renewal; a live owner renews it every third of that.</param>
public sealed record LedgerLease(string Owner, TimeSpan Duration)
{
    /// <summary>The default claim lifetime: long enough for a slow request's renewals to land, short enough that a dead process's work is soon taken over.</summary>
    public static TimeSpan DefaultDuration { get; } = TimeSpan.FromSeconds(30);

    /// <summary>A new lease owner for this process.</summary>
    public static LedgerLease ForThisProcess(TimeSpan? duration = null)
    {
        var lease = duration ?? DefaultDuration;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero, nameof(duration));
        return new LedgerLease($"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}", lease);
    }

    /// <summary>When a claim taken or renewed at <paramref name="now"/> runs out.</summary>
    public DateTimeOffset Until(DateTimeOffset now) => now + Duration;
}
