using System.Threading;

namespace Distillery.Teachers;

/// <summary>Counters shared by a teacher's wrappers over a run: attempts sent, retries, time waited for rate limits.</summary>
public sealed class TeacherStatistics
{
    private int attempts;
    private int retries;
    private long rateLimitWaitMs;

    /// <summary>Attempts sent to the teacher (retries included).</summary>
    public int Attempts => Volatile.Read(ref attempts);

    /// <summary>Retries made.</summary>
    public int Retries => Volatile.Read(ref retries);

    /// <summary>Milliseconds spent waiting for the rpm/tpm limits.</summary>
    public long RateLimitWaitMs => Interlocked.Read(ref rateLimitWaitMs);

    /// <summary>Counts one attempt.</summary>
    public void AddAttempt() => Interlocked.Increment(ref attempts);

    /// <summary>Counts one retry.</summary>
    public void AddRetry() => Interlocked.Increment(ref retries);

    /// <summary>Adds time waited for a rate limit.</summary>
    public void AddRateLimitWait(long milliseconds) => Interlocked.Add(ref rateLimitWaitMs, milliseconds);
}
