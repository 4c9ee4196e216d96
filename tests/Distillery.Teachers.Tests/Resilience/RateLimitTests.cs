using System;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Teachers.Resilience;
using Distillery.TestSupport.Servers;
using Distillery.TestSupport.Time;
using Microsoft.Extensions.Time.Testing;

namespace Distillery.Teachers.Tests.Resilience;

/// <summary>The limiter on a fake clock: the server stamps arrivals with the same clock, so every bound below is exact, whatever the machine's load.</summary>
public sealed class RateLimitTests
{
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan FakeLimit = TimeSpan.FromMinutes(5);

    private static TeacherRequest Ask(int i, int maxTokens = 8) => new([ChatMessage.User($"prompt {i}")], new SamplingParameters { MaxTokens = maxTokens, TopLogprobs = 1 });

    [Fact]
    public async Task No_window_on_the_server_sees_more_requests_than_the_limit()
    {
        var clock = new FakeTimeProvider();
        await using var server = await FakeOpenAiServer.StartAsync();
        server.Clock = clock;
        var window = TimeSpan.FromMilliseconds(500);
        var teacher = new RateLimitedTeacher(TestTeachers.Raw(server), new SlidingWindowLimiter(4, 0, window, clock));

        await clock.RunAsync(Task.WhenAll(Enumerable.Range(0, 12).Select(i => teacher.CompleteAsync(Ask(i)))), Step, FakeLimit);

        var arrivals = server.Events.Select(e => e.At).Order().ToList();
        Assert.Equal(12, arrivals.Count);
        // A request counts until a window after it completes, and the server saw it before that: any 5 consecutive arrivals span a window.
        for (var i = 4; i < arrivals.Count; i++)
            Assert.True(arrivals[i] - arrivals[i - 4] >= window, $"arrivals {i - 4}..{i} within {(arrivals[i] - arrivals[i - 4]).TotalMilliseconds} ms");
        Assert.True(arrivals[^1] - arrivals[0] >= 2 * window);
    }

    [Fact]
    public async Task Tokens_per_window_are_settled_with_the_servers_counts()
    {
        var clock = new FakeTimeProvider();
        var window = TimeSpan.FromMilliseconds(400);
        var limiter = new SlidingWindowLimiter(0, 100, window, clock);
        var first = await limiter.AcquireAsync(90);
        first.Complete(10);

        // Settled at 10, the window has room for 90 more at once, with no time passing.
        var second = limiter.AcquireAsync(90);
        Assert.True(second.IsCompletedSuccessfully);
        (await second).Complete(40);

        // Settled at 40, a further 60 must wait for the first two to leave the window.
        var settled = clock.GetUtcNow();
        var third = limiter.AcquireAsync(60);
        Assert.False(third.IsCompleted);
        var acquiredAt = await clock.RunAsync(third.ContinueWith(_ => clock.GetUtcNow(), TaskScheduler.Default), Step, FakeLimit);
        Assert.True(acquiredAt - settled >= window, $"acquired after {(acquiredAt - settled).TotalMilliseconds} ms");
    }
}
