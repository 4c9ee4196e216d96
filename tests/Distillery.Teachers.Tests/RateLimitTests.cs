using System;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Teachers.Resilience;
using Distillery.TestSupport.Servers;

namespace Distillery.Teachers.Tests;

public sealed class RateLimitTests
{
    private static TeacherRequest Ask(int i, int maxTokens = 8) => new([ChatMessage.User($"prompt {i}")], new SamplingParameters { MaxTokens = maxTokens, TopLogprobs = 1 });

    [Fact]
    public async Task No_window_on_the_server_sees_more_requests_than_the_limit()
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        var window = TimeSpan.FromMilliseconds(500);
        var teacher = new RateLimitedTeacher(TestTeachers.Raw(server), new SlidingWindowLimiter(4, 0, window));

        await Task.WhenAll(Enumerable.Range(0, 12).Select(i => teacher.CompleteAsync(Ask(i))));

        var arrivals = server.Events.Select(e => e.At).Order().ToList();
        Assert.Equal(12, arrivals.Count);
        // Any 5 consecutive arrivals span at least a window (less 30 ms for the two clocks' granularity).
        for (var i = 4; i < arrivals.Count; i++)
            Assert.True(arrivals[i] - arrivals[i - 4] >= window - TimeSpan.FromMilliseconds(30), $"arrivals {i - 4}..{i} within {(arrivals[i] - arrivals[i - 4]).TotalMilliseconds} ms");
        Assert.True(arrivals[^1] - arrivals[0] >= 2 * window - TimeSpan.FromMilliseconds(30));
    }

    [Fact]
    public async Task Tokens_per_window_are_settled_with_the_servers_counts()
    {
        var window = TimeSpan.FromMilliseconds(400);
        var limiter = new SlidingWindowLimiter(0, 100, window);
        var first = await limiter.AcquireAsync(90);
        first.Complete(10);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        // Settled at 10, the window has room for 90 more at once; settled at 40, a further 60 must wait for the first to leave the window.
        var second = await limiter.AcquireAsync(90);
        Assert.True(watch.Elapsed < TimeSpan.FromMilliseconds(100));
        second.Complete(40);
        await limiter.AcquireAsync(60);
        Assert.True(watch.Elapsed >= window - TimeSpan.FromMilliseconds(30), $"waited {watch.Elapsed.TotalMilliseconds} ms");
    }
}
