using System;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Teachers.Resilience;
using Distillery.TestSupport.Servers;
using Distillery.TestSupport.Time;
using Microsoft.Extensions.Time.Testing;

namespace Distillery.Teachers.Tests.Resilience;

public sealed class FaultTests
{
    private static TeacherRequest Ask(string prompt) =>
        new([ChatMessage.User(prompt)], new SamplingParameters { Temperature = 0, MaxTokens = 16, TopLogprobs = 3 });

    [Fact]
    public async Task Status_429_waits_the_servers_retry_after_then_succeeds()
    {
        // On a fake clock that also stamps the server's events, the wait between the two attempts is measured exactly.
        var clock = new FakeTimeProvider();
        await using var server = await FakeOpenAiServer.StartAsync();
        server.Clock = clock;
        server.Faults = (_, attempt) => attempt == 1 ? Fault.RateLimit : Fault.None;
        server.RetryAfter = "1";
        var statistics = new TeacherStatistics();
        var request = Ask("slow down");

        var completion = await clock.RunAsync(TestTeachers.Resilient(server, statistics, time: clock).CompleteAsync(request),
            TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1));

        Assert.Equal("echo down slow", completion.Text);
        var events = server.Events.ToList();
        Assert.Equal(["429", "ok"], events.Select(e => e.Outcome));
        // Backoff alone would retry after at most 20 ms; only Retry-After explains a wait of a second.
        Assert.True(events[1].At - events[0].At >= TimeSpan.FromSeconds(1), $"retried after {(events[1].At - events[0].At).TotalMilliseconds} ms");
        Assert.Equal(1, request.Trace.Retries);
        Assert.Equal(1, statistics.Retries);
    }

    [Theory]
    [InlineData(Fault.ServerError, "500")]
    [InlineData(Fault.DropMidBody, "dropped")]
    [InlineData(Fault.Delay, "aborted")]
    public async Task Transient_failures_are_retried_and_answered_once(Fault fault, string outcome)
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        await TestTeachers.Raw(server).CompleteAsync(Ask("warm up")); // a cold first request can outlast a short timeout
        server.Reset();
        server.Faults = (_, attempt) => attempt <= 2 ? fault : Fault.None;
        // The attempt timeout is the HTTP client's, in real time: short only where the fault is a delay, which the server holds
        // far longer than that, so a slow machine cannot turn a good answer into one more retry.
        server.FaultDelay = TimeSpan.FromSeconds(60);
        var timeout = fault == Fault.Delay ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(30);
        var statistics = new TeacherStatistics();
        var completion = await TestTeachers.Resilient(server, statistics, timeout: timeout).CompleteAsync(Ask("try again"));

        Assert.Equal("echo again try", completion.Text);
        await WaitForAsync(() => server.Events.Count >= 3);
        Assert.Equal([outcome, outcome, "ok"], server.Events.Select(e => e.Outcome));
        Assert.Equal(2, statistics.Retries);
    }

    [Fact]
    public async Task Other_4xx_fails_with_the_servers_message_and_is_not_retried()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        server.Faults = (_, _) => Fault.BadRequest;
        var e = await Assert.ThrowsAsync<TeacherException>(() => TestTeachers.Resilient(server, new TeacherStatistics()).CompleteAsync(Ask("too long")));

        Assert.Equal(TeacherFailureKind.Rejected, e.Kind);
        Assert.Equal(400, e.Status);
        Assert.Equal("HTTP 400: This model's maximum context length is 8 tokens.", e.Message);
        Assert.Equal(1, server.Received);
    }

    [Fact]
    public async Task Malformed_json_fails_as_malformed_and_is_not_retried()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        server.Faults = (_, _) => Fault.Malformed;
        var e = await Assert.ThrowsAsync<TeacherException>(() => TestTeachers.Resilient(server, new TeacherStatistics()).CompleteAsync(Ask("garbage")));

        Assert.Equal(TeacherFailureKind.Malformed, e.Kind);
        Assert.Equal(1, server.Received);
    }

    [Fact]
    public async Task Retries_stop_at_the_limit_with_the_last_error()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        server.Faults = (_, _) => Fault.ServerError;
        var retry = TestTeachers.FastRetry with { MaxRetries = 2 };
        var e = await Assert.ThrowsAsync<TeacherException>(() => TestTeachers.Resilient(server, new TeacherStatistics(), retry: retry).CompleteAsync(Ask("down")));

        Assert.Equal(TeacherFailureKind.Transient, e.Kind);
        Assert.StartsWith("gave up after 3 attempts: HTTP 500: The server had an error", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, server.Received);
    }

    [Fact]
    public void Backoff_doubles_up_to_the_cap_with_jitter_between_half_and_whole()
    {
        var options = new RetryOptions { BaseDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(10) };
        Assert.Equal(TimeSpan.FromSeconds(0.5), options.Backoff(1, 0));
        Assert.Equal(TimeSpan.FromSeconds(4), options.Backoff(3, 1));
        Assert.Equal(TimeSpan.FromSeconds(10), options.Backoff(8, 1));
        Assert.Equal(TimeSpan.FromSeconds(5), options.Backoff(8, 0));
    }

    internal static async Task WaitForAsync(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition() && watch.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(20);
    }
}
