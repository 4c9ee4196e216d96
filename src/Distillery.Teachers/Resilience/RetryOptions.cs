using System;

namespace Distillery.Teachers.Resilience;

/// <summary>How retries back off: up to <see cref="MaxRetries"/> retries, delays doubling from <see cref="BaseDelay"/> to at most <see cref="MaxDelay"/>, each scaled by a random factor in [0.5, 1).</summary>
public sealed record RetryOptions
{
    /// <summary>Retries after the first attempt.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>The first backoff delay.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest backoff delay.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest Retry-After honoured; a server asking for longer fails the request.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The backoff before retry number <paramref name="retry"/> (1 for the first), given a uniform random number in [0, 1).</summary>
    public TimeSpan Backoff(int retry, double random)
    {
        var exponential = BaseDelay.TotalMilliseconds * Math.Pow(2, Math.Max(0, retry - 1));
        var capped = Math.Min(MaxDelay.TotalMilliseconds, exponential);
        return TimeSpan.FromMilliseconds(capped * (0.5 + 0.5 * random));
    }
}
