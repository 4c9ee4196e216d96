using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Distillery.Teachers.Resilience;

/// <summary>Keeps requests and tokens within limits over any sliding window (a minute for rpm/tpm): a request starts only when the last window's count and tokens leave room for it.</summary>
/// <remarks>A request counts from when it starts until a window after it completes: the server sees it arrive somewhere in between, so no window the server measures holds more than the limit, whatever the latency.</remarks>
public sealed class SlidingWindowLimiter
{
    private readonly int maxRequests;
    private readonly long maxTokens;
    private readonly TimeSpan window;
    private readonly TimeProvider clock;
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly List<Lease> leases = [];

    /// <summary>Creates a limiter; 0 means no limit on that measure.</summary>
    public SlidingWindowLimiter(int maxRequests, long maxTokens, TimeSpan window, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxRequests);
        ArgumentOutOfRangeException.ThrowIfNegative(maxTokens);
        if (window <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(window), "the window must be positive");
        this.maxRequests = maxRequests;
        this.maxTokens = maxTokens;
        this.window = window;
        clock = time ?? TimeProvider.System;
    }

    /// <summary>Waits until a request estimated at <paramref name="estimatedTokens"/> may start, and records it.</summary>
    public async Task<Lease> AcquireAsync(long estimatedTokens, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            TimeSpan wait;
            await gate.WaitAsync(cancellationToken);
            try
            {
                var now = clock.GetUtcNow();
                leases.RemoveAll(l => l.Completed is { } done && now - done >= window);
                long tokens = 0;
                foreach (var lease in leases) tokens += lease.Tokens;
                var requestsOk = maxRequests == 0 || leases.Count < maxRequests;
                // A request larger than the whole token limit still goes, alone, or it would never go.
                var tokensOk = maxTokens == 0 || tokens + estimatedTokens <= maxTokens || leases.Count == 0;
                if (requestsOk && tokensOk)
                {
                    var lease = new Lease(clock, estimatedTokens);
                    leases.Add(lease);
                    return lease;
                }
                // Wait for the first completed lease to leave the window; while all are in flight, look again shortly.
                wait = TimeSpan.FromMilliseconds(20);
                foreach (var lease in leases)
                    if (lease.Completed is { } done && done + window - now < wait) wait = done + window - now;
            }
            finally
            {
                gate.Release();
            }
            await Task.Delay(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait, clock, cancellationToken);
        }
    }

    /// <summary>One request counted in the window; its tokens are corrected once the server has counted them.</summary>
    public sealed class Lease(TimeProvider clock, long tokens)
    {
        private long tokens = tokens;
        private long completedTicks;

        /// <summary>The tokens counted against the limit.</summary>
        public long Tokens => Interlocked.Read(ref tokens);

        /// <summary>When the request completed; null while it is in flight.</summary>
        public DateTimeOffset? Completed => Interlocked.Read(ref completedTicks) is var t and > 0 ? new DateTimeOffset(t, TimeSpan.Zero) : null;

        /// <summary>Marks the request complete, replacing the estimate with the real count; later calls change nothing.</summary>
        public void Complete(long actualTokens)
        {
            if (Interlocked.Read(ref completedTicks) > 0) return;
            // Tokens first: a reader that sees the completion time sees the real count.
            Interlocked.Exchange(ref tokens, actualTokens);
            Interlocked.CompareExchange(ref completedTicks, clock.GetUtcNow().UtcTicks, 0);
        }
    }
}
