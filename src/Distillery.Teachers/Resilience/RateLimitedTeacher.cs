using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Provenance;

namespace Distillery.Teachers.Resilience;

/// <summary>Keeps a teacher within requests per minute and tokens per minute; every attempt (retries too) passes the limiter.</summary>
public sealed class RateLimitedTeacher : ITeacher
{
    private readonly ITeacher inner;
    private readonly SlidingWindowLimiter limiter;
    private readonly TeacherStatistics? statistics;

    /// <summary>Wraps a teacher with per-minute limits (0 for none).</summary>
    public RateLimitedTeacher(ITeacher inner, int requestsPerMinute, int tokensPerMinute, TeacherStatistics? statistics = null, TimeProvider? time = null)
        : this(inner, new SlidingWindowLimiter(requestsPerMinute, tokensPerMinute, TimeSpan.FromMinutes(1), time), statistics)
    {
    }

    /// <summary>Wraps a teacher with a given limiter (any window).</summary>
    public RateLimitedTeacher(ITeacher inner, SlidingWindowLimiter limiter, TeacherStatistics? statistics = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(limiter);
        this.inner = inner;
        this.limiter = limiter;
        this.statistics = statistics;
    }

    /// <inheritdoc />
    public TeacherIdentity Identity => inner.Identity;

    /// <inheritdoc />
    public async Task<Completion> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = Stopwatch.GetTimestamp();
        var estimate = request.EstimatedPromptTokens() + request.Sampling.MaxTokens;
        var lease = await limiter.AcquireAsync(estimate, cancellationToken);
        statistics?.AddRateLimitWait((long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        statistics?.AddAttempt();
        try
        {
            var completion = await inner.CompleteAsync(request, cancellationToken);
            lease.Complete(completion.Usage.TotalTokens);
            return completion;
        }
        catch (TeacherException e) when (e.Kind is TeacherFailureKind.Rejected or TeacherFailureKind.RateLimited)
        {
            // A refused request used no tokens; its slot in the request count stays.
            lease.Complete(0);
            throw;
        }
        finally
        {
            // Timeouts and dropped connections may have cost tokens: keep the estimate.
            lease.Complete(estimate);
        }
    }
}
