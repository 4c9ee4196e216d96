using System;
using System.Diagnostics;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;

namespace Distillery.TestSupport.Time;

/// <summary>Moves a <see cref="FakeTimeProvider"/> forward in small steps until some work finishes, so code that waits on the clock
/// (backoff, Retry-After, rate-limit windows) runs in fake time. What the work observes depends only on the fake clock, not on the machine's load.</summary>
public static class FakeClockDriver
{
    /// <summary>The longest real time a driven piece of work may take before the test fails.</summary>
    public static TimeSpan RealLimit { get; } = TimeSpan.FromSeconds(60);

    /// <summary>Advances the clock by <paramref name="step"/>, lets the work run, and repeats until it completes; fails past
    /// <paramref name="fakeLimit"/> of fake time or <see cref="RealLimit"/> of real time.</summary>
    public static async Task<T> RunAsync<T>(this FakeTimeProvider clock, Task<T> work, TimeSpan step, TimeSpan fakeLimit)
    {
        await RunAsync(clock, (Task)work, step, fakeLimit);
        return await work;
    }

    /// <inheritdoc cref="RunAsync{T}(FakeTimeProvider, Task{T}, TimeSpan, TimeSpan)"/>
    public static async Task RunAsync(this FakeTimeProvider clock, Task work, TimeSpan step, TimeSpan fakeLimit)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(work);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(step, TimeSpan.Zero);
        var start = clock.GetUtcNow();
        var real = Stopwatch.StartNew();
        while (!work.IsCompleted)
        {
            if (clock.GetUtcNow() - start > fakeLimit)
                throw new TimeoutException($"the work did not finish within {fakeLimit.TotalSeconds} s of fake time");
            if (real.Elapsed > RealLimit)
                throw new TimeoutException($"the work did not finish within {RealLimit.TotalSeconds} s of real time");
            clock.Advance(step);
            // A real pause: lets what the step woke (and any I/O it started) run before the clock moves again.
            await Task.WhenAny(work, Task.Delay(TimeSpan.FromMilliseconds(2), TimeProvider.System));
        }
        await work;
    }
}
