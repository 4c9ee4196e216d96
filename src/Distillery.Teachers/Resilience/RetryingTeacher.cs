using System;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Provenance;

namespace Distillery.Teachers.Resilience;

/// <summary>Retries a teacher: 429 after the server's Retry-After, 5xx/timeouts/dropped connections with exponential backoff and jitter, up to a limit; other failures pass through at once.</summary>
public sealed class RetryingTeacher(ITeacher inner, RetryOptions options, TeacherStatistics? statistics = null, TimeProvider? time = null) : ITeacher
{
    private readonly TimeProvider clock = time ?? TimeProvider.System;

    /// <inheritdoc />
    public TeacherIdentity Identity => inner.Identity;

    /// <inheritdoc />
    public async Task<Completion> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        for (var retry = 0; ; retry++)
        {
            try
            {
                return await inner.CompleteAsync(request, cancellationToken);
            }
            catch (TeacherException e) when (e.IsRetryable)
            {
                if (retry >= options.MaxRetries)
                    throw new TeacherException(e.Kind, $"gave up after {retry + 1} attempts: {e.Message}", e.Status, e.RetryAfter, e);
                var delay = e.Kind == TeacherFailureKind.RateLimited && e.RetryAfter is { } asked
                    ? asked
                    : options.Backoff(retry + 1, Random.Shared.NextDouble());
                if (delay > options.MaxRetryAfter)
                    throw new TeacherException(e.Kind, $"the server asked to wait {delay.TotalSeconds:F0} s, more than the {options.MaxRetryAfter.TotalSeconds:F0} s allowed: {e.Message}", e.Status, e.RetryAfter, e);
                request.Trace.AddRetry();
                statistics?.AddRetry();
                await Task.Delay(delay, clock, cancellationToken);
            }
        }
    }
}
