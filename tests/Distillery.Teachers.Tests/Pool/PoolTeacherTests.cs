using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Teachers.Labeling;
using Distillery.Teachers.Ledger;
using Distillery.Teachers.Pool;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;
using Distillery.TestSupport.Time;
using Microsoft.Extensions.Time.Testing;

namespace Distillery.Teachers.Tests.Pool;

public sealed class PoolTeacherTests
{
    private static readonly SamplingParameters Sampling = new() { Temperature = 0, MaxTokens = 8, TopLogprobs = 2 };

    private static PoolEndpoint Endpoint(string name, FakeOpenAiServer server, int rpm = 0, int concurrency = 0) =>
        new() { Name = name, BaseUrl = server.BaseUrl.ToString(), ApiKeyEnv = "DISTILLERY_TEST_UNSET_KEY", RequestsPerMinute = rpm, Concurrency = concurrency };

    private static string WritePool(ScratchFolder dir, params PoolEndpoint[] endpoints)
    {
        var path = dir.File("endpoints.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new EndpointPoolFile { Name = "test-pool", Endpoints = endpoints }, DatasetJson.Indented));
        return path;
    }

    private static LabelingOptions Options(ScratchFolder dir, string output, int prompts)
    {
        var path = dir.File("prompts.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, prompts).Select(i => $"{{\"id\":\"p{i}\",\"prompt\":\"tell story number {i}\"}}"));
        return new LabelingOptions { PromptsPath = path, OutputDirectory = Path.Combine(dir.Path, output), LedgerPath = dir.File("ledger.db"), Sampling = Sampling, Concurrency = 4 };
    }

    [Fact]
    public async Task A_failing_endpoint_fails_over_to_a_slow_one_every_request_is_answered_once_and_rows_record_who_answered()
    {
        using var dir = new ScratchFolder();
        await using var failing = await FakeOpenAiServer.StartAsync();
        await using var slow = await FakeOpenAiServer.StartAsync();
        failing.Faults = (_, _) => Fault.ServerError;
        slow.Latency = TimeSpan.FromMilliseconds(30);
        var file = WritePool(dir, Endpoint("failing", failing), Endpoint("slow", slow));
        var settings = new TeacherSettings { EndpointsFile = file, Retry = TestTeachers.FastRetry };
        var options = Options(dir, "out", 12);

        var summary = await new LabelingRunner(await TeacherFactory.CreateAsync("openai:gpt-test", settings), options).RunAsync();

        Assert.True(summary.Succeeded);
        Assert.True(failing.Received > 0, "the failing endpoint was never tried");
        Assert.Equal(0, failing.AnsweredTotal);
        Assert.Equal(12, slow.AnsweredByPrompt().Count);
        Assert.All(slow.AnsweredByPrompt().Values, n => Assert.Equal(1, n));
        var rows = await DatasetReader.ReadAllRowsAsync(options.OutputDirectory);
        Assert.Equal(12, rows.Count);
        Assert.All(rows, r => Assert.Equal(("pool:test-pool", "slow"), (r.Distillery!.Teacher.Endpoint, r.Distillery.Teacher.AnsweredBy)));
        // The key names the pool, the model and the request, not a URL.
        var pool = new Core.Provenance.TeacherIdentity("openai", "gpt-test", "pool:test-pool");
        Assert.Equal(LedgerKey.For(pool, rows[0].Messages.Take(1).ToList(), Sampling, 0).Hash, rows[0].Distillery!.RequestHash);

        // Another endpoint in the same pool finds every answer in the ledger: nothing is sent again.
        await using var fresh = await FakeOpenAiServer.StartAsync();
        var again = settings with { EndpointsFile = WritePool(dir, Endpoint("fresh", fresh)) };
        var rerun = await new LabelingRunner(await TeacherFactory.CreateAsync("openai:gpt-test", again), options with { OutputDirectory = Path.Combine(dir.Path, "out2") }).RunAsync();
        Assert.True(rerun.Succeeded);
        Assert.Equal(12, rerun.FromLedger);
        Assert.Equal(0, fresh.Received);
    }

    [Fact]
    public async Task Each_endpoint_keeps_its_own_rate_limit_and_the_load_is_shared()
    {
        var clock = new FakeTimeProvider();
        await using var a = await FakeOpenAiServer.StartAsync();
        await using var b = await FakeOpenAiServer.StartAsync();
        a.Clock = clock;
        b.Clock = clock;
        using var dir = new ScratchFolder();
        var pool = TeacherFactory.CreatePool("gpt-test", EndpointPoolFile.Load(WritePool(dir, Endpoint("a", a, rpm: 2), Endpoint("b", b, rpm: 2, concurrency: 1))), "endpoints.json", new TeacherSettings(), clock);

        var completions = await clock.RunAsync(Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            pool.CompleteAsync(new TeacherRequest([ChatMessage.User($"prompt {i}")], Sampling)))), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));

        Assert.Equal(4, completions.Count(c => c.AnsweredBy == "a"));
        Assert.Equal(4, completions.Count(c => c.AnsweredBy == "b"));
        foreach (var server in new[] { a, b })
        {
            var arrivals = server.Events.Select(e => e.At).Order().ToList();
            Assert.Equal(4, arrivals.Count);
            // At most 2 a minute: any 3 consecutive arrivals at one endpoint span a minute.
            for (var i = 2; i < arrivals.Count; i++)
                Assert.True(arrivals[i] - arrivals[i - 2] >= TimeSpan.FromMinutes(1), $"arrivals {i - 2}..{i} within {(arrivals[i] - arrivals[i - 2]).TotalSeconds} s");
        }
    }

    [Theory]
    [InlineData("""{"name":"p","endpoints":[{"name":"a","base_url":"http://127.0.0.1:1/v1","weight":0}]}""", "endpoints[0].weight: must be above 0")]
    [InlineData("""{"name":"p","endpoints":[{"name":"a","base_url":"ftp://x"}]}""", "endpoints[0].base_url:")]
    [InlineData("""{"name":"p","endpoints":[]}""", "endpoints: must list at least one endpoint")]
    [InlineData("""{"name":"p","endpoints":[{"name":"a","base_url":"http://127.0.0.1:1/v1"},{"name":"a","base_url":"http://127.0.0.1:2/v1"}]}""", "endpoints: the name \"a\" is used twice")]
    [InlineData("""{"endpoints":[{"name":"a","base_url":"http://127.0.0.1:1/v1"}]}""", "not an endpoints file")]
    [InlineData("""{"name":"p","endpoints":[{"name":"a","base_url":"https://api.example.com/v1","api_key_env":"DISTILLERY_TEST_UNSET_KEY"}]}""", "endpoints[0].api_key_env: DISTILLERY_TEST_UNSET_KEY is not set")]
    public async Task A_malformed_endpoints_file_is_one_line_naming_the_file_and_field(string json, string expected)
    {
        using var dir = new ScratchFolder();
        var path = dir.File("endpoints.json");
        await File.WriteAllTextAsync(path, json);

        var e = await Assert.ThrowsAsync<InputException>(() => TeacherFactory.CreateAsync("openai:gpt-test", new TeacherSettings { EndpointsFile = path }));

        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }
}
