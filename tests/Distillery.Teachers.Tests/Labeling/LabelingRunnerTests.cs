using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Ledger;
using Distillery.Core.Policy;
using Distillery.Core.Pricing;
using Distillery.Teachers.Labeling;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;

namespace Distillery.Teachers.Tests.Labeling;

public sealed class LabelingRunnerTests
{
    private static readonly SamplingParameters Sampling = new() { Temperature = 0, MaxTokens = 16, TopLogprobs = 4 };

    private static string WritePrompts(ScratchFolder dir, int count, string name = "prompts.jsonl")
    {
        var lines = Enumerable.Range(0, count).Select(i => i % 3 == 0
            ? $"{{\"id\":\"p{i}\",\"prompt\":\"tell story number {i}\",\"meta\":{{\"n\":{i}}}}}"
            : $"{{\"id\":\"p{i}\",\"messages\":[{{\"role\":\"user\",\"content\":\"tell story number {i}\"}}]}}");
        var path = dir.File(name);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static LabelingOptions Options(ScratchFolder dir, string prompts, TeacherStatistics statistics) => new()
    {
        PromptsPath = prompts,
        OutputDirectory = Path.Combine(dir.Path, "out"),
        Sampling = Sampling,
        Concurrency = 4,
        Statistics = statistics,
        Price = new ModelPrice(2m, 8m),
    };

    private static async Task<LabelingSummary> RunAsync(FakeOpenAiServer server, LabelingOptions options, TimeSpan? timeout = null)
    {
        var statistics = options.Statistics ?? new TeacherStatistics();
        var teacher = TestTeachers.Resilient(server, statistics, timeout);
        return await new LabelingRunner(teacher, options).RunAsync();
    }

    [Fact]
    public async Task Rows_stream_into_the_dataset_with_provenance_and_a_manifest()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        var prompts = WritePrompts(dir, 9);
        var options = Options(dir, prompts, new TeacherStatistics()) with { SystemPrompt = "You are terse." };

        var summary = await RunAsync(server, options);

        Assert.True(summary.Succeeded);
        Assert.Equal(9, summary.Answered);
        var rows = await DatasetReader.ReadAllRowsAsync(options.OutputDirectory);
        Assert.Equal(Enumerable.Range(0, 9).Select(i => $"p{i}"), rows.Select(r => r.Distillery!.PromptId));
        var row = rows[3];
        Assert.Equal(["system", "user", "assistant"], row.Messages.Select(m => m.Role));
        Assert.Equal("You are terse.", row.Messages[0].Content);
        Assert.Equal("echo 3 number story tell", row.Messages[2].Content);
        var p = row.Distillery!;
        Assert.Equal(3, p.Meta!.Value.GetProperty("n").GetInt32());
        Assert.Equal("openai", p.Teacher.Provider);
        Assert.Equal("fake-gpt-2026-01-01", p.Teacher.Model);
        Assert.Equal("gpt-test", p.Teacher.RequestedModel);
        Assert.Equal(server.BaseUrl.ToString().TrimEnd('/'), p.Teacher.Endpoint);
        Assert.Equal(4, p.Teacher.Sampling.TopLogprobs);
        Assert.Equal(5, p.Tokens.Count);
        Assert.All(p.Tokens, t => Assert.Equal(4, t.TopLogprobs.Count));
        Assert.Equal(5, p.Usage.CompletionTokens);
        Assert.Equal((p.Usage.PromptTokens * 2m + 5 * 8m) / 1_000_000m, p.CostUsd);
        Assert.Equal(64, p.RequestHash.Length);
        Assert.True(DateTimeOffset.UtcNow - p.Timestamp < TimeSpan.FromMinutes(1));

        var manifest = (await DatasetReader.ReadManifestAsync(options.OutputDirectory))!;
        Assert.Equal(9, manifest.Counts.Rows);
        Assert.Equal(9, manifest.Prompts!.Count);
        Assert.Equal(64, manifest.Prompts.Sha256.Length);
        var contribution = Assert.Single(manifest.Teachers);
        Assert.Equal(["fake-gpt-2026-01-01"], contribution.ModelsReported);
        Assert.Equal(rows.Sum(r => r.Distillery!.Usage.CompletionTokens), manifest.Tokens.CompletionTokens);
        Assert.Equal(rows.Sum(r => r.Distillery!.CostUsd), manifest.CostUsd);
        Assert.Contains(manifest.Policy, d => d.Decision == "allow");

        await using var ledger = await TeacherLedger.OpenAsync(Path.Combine(options.OutputDirectory, "ledger.db"));
        var entries = await ledger.ReadAllAsync();
        Assert.Equal(9, entries.Count);
        Assert.All(entries, e => Assert.Equal(LedgerStatus.Answered, e.Status));
        Assert.Equal(rows.Select(r => r.Distillery!.RequestHash).Order(), entries.Select(e => e.Hash).Order());
        // The key is held by the SDK only: it is nowhere in what was written.
        foreach (var file in Directory.GetFiles(options.OutputDirectory))
            Assert.DoesNotContain(TestTeachers.Key, await ReadSharedAsync(file), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_server_never_sees_more_requests_at_once_than_the_concurrency()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        server.Latency = TimeSpan.FromMilliseconds(30);
        var options = Options(dir, WritePrompts(dir, 40), new TeacherStatistics()) with { Concurrency = 3 };

        var summary = await RunAsync(server, options);

        Assert.True(summary.Succeeded);
        Assert.Equal(40, server.AnsweredTotal);
        // Answers are recorded by other workers while the slots stay busy, but never a fourth request at once.
        Assert.Equal(3, server.MostInFlight);
    }

    [Fact]
    public async Task A_rerun_sends_nothing_and_a_lost_dataset_is_rebuilt_from_the_ledger()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        var options = Options(dir, WritePrompts(dir, 6), new TeacherStatistics());
        await RunAsync(server, options);
        var first = await DatasetText.RowsAsync(options.OutputDirectory);
        server.Reset();

        var again = await RunAsync(server, options);
        Assert.Equal(0, server.Received);
        Assert.Equal(6, again.AlreadyPresent);
        Assert.Equal(0, again.Answered);

        File.Delete(DatasetFolder.DataPath(options.OutputDirectory));
        var rebuilt = await RunAsync(server, options);
        Assert.Equal(0, server.Received);
        Assert.Equal(6, rebuilt.FromLedger);
        Assert.Equal(first, await DatasetText.RowsAsync(options.OutputDirectory));
    }

    [Fact]
    public async Task Under_faults_nothing_is_lost_and_nothing_is_sent_again_after_its_success()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        // Warm the client and server first: a cold first burst of 8 can take longer than the 500 ms timeout below, and
        // its retries would be counted with those the faults cause.
        var warm = TestTeachers.Raw(server);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => warm.CompleteAsync(new TeacherRequest([ChatMessage.User($"warm {i}")], new SamplingParameters { MaxTokens = 4, TopLogprobs = 2 }))));
        server.Reset();
        var faults = new[] { Fault.RateLimit, Fault.ServerError, Fault.Delay, Fault.DropMidBody, Fault.Malformed, Fault.BadRequest, Fault.None };
        // Prompt i meets fault i % 7 on its first attempt (and the transient ones on a second too), then is answered.
        server.Faults = (prompt, attempt) =>
        {
            var fault = faults[int.Parse(prompt.Split(' ')[^1]) % faults.Length];
            return attempt == 1 || (attempt == 2 && fault is Fault.ServerError or Fault.DropMidBody) ? fault : Fault.None;
        };
        server.RetryAfter = "0.2";
        var statistics = new TeacherStatistics();
        var options = Options(dir, WritePrompts(dir, 21), statistics) with { Concurrency = 8 };

        var summary = await RunAsync(server, options, timeout: TimeSpan.FromMilliseconds(500));

        // Malformed and 400 are failures, not retried: 3 prompts each.
        Assert.Equal(6, summary.Failed);
        Assert.Equal(15, summary.Answered);
        Assert.Equal(3 * (1 + 2 + 1 + 2), summary.Retries);
        var rows = await DatasetReader.ReadAllRowsAsync(options.OutputDirectory);
        Assert.Equal(15, rows.Count);
        var byPrompt = server.Events.GroupBy(e => e.Prompt).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(21, byPrompt.Count);
        foreach (var (prompt, events) in byPrompt)
        {
            var oks = events.Count(e => e.Outcome == "ok");
            var fault = faults[int.Parse(prompt.Split(' ')[^1]) % faults.Length];
            Assert.Equal(fault is Fault.Malformed or Fault.BadRequest ? 0 : 1, oks);
            Assert.Equal(fault is Fault.Malformed or Fault.BadRequest ? 1 : oks, events.Count(e => e.Outcome != "aborted") - events.Count(e => e.Outcome is "429" or "500" or "dropped"));
            if (oks == 1) Assert.Equal("ok", events.Last(e => e.Outcome != "aborted").Outcome);
        }
        await using (var ledger = await TeacherLedger.OpenAsync(Path.Combine(options.OutputDirectory, "ledger.db")))
        {
            var failed = (await ledger.ReadAllAsync()).Where(e => e.Status == LedgerStatus.Failed).ToList();
            Assert.Equal(6, failed.Count);
            Assert.Contains(failed, e => e.Error == "HTTP 400: This model's maximum context length is 8 tokens.");
            Assert.Contains(failed, e => e.Error!.StartsWith("the server's response is not a chat completion", StringComparison.Ordinal));
        }

        // The server heals; a rerun sends only the six that failed and completes the dataset.
        server.Faults = (_, _) => Fault.None;
        server.Reset();
        var rerun = await RunAsync(server, options with { Statistics = new TeacherStatistics() });
        Assert.Equal(6, server.Received);
        Assert.Equal(6, rerun.Answered);
        Assert.True(rerun.Succeeded);
        Assert.Equal(21, (await DatasetReader.ReadAllRowsAsync(options.OutputDirectory)).Count);
    }

    [Fact]
    public async Task A_torn_last_line_is_cut_and_the_row_restored_from_the_ledger()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        var options = Options(dir, WritePrompts(dir, 5), new TeacherStatistics());
        await RunAsync(server, options);
        var data = DatasetFolder.DataPath(options.OutputDirectory);
        var rows = await DatasetText.RowsAsync(options.OutputDirectory);
        var whole = await File.ReadAllBytesAsync(data);
        await File.WriteAllBytesAsync(data, whole[..^40]);
        server.Reset();

        var summary = await RunAsync(server, options);

        Assert.Equal(0, server.Received);
        Assert.Equal(1, summary.FromLedger);
        Assert.Equal(rows, await DatasetText.RowsAsync(options.OutputDirectory));
    }

    [Fact]
    public async Task Identical_prompts_are_asked_once_and_samples_are_separate_requests()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        var prompts = dir.File("p.txt");
        await File.WriteAllLinesAsync(prompts, ["same words", "other words", "same words"]);
        var options = Options(dir, prompts, new TeacherStatistics()) with { Samples = 2 };

        var summary = await RunAsync(server, options);

        Assert.Equal(4, server.Received);
        Assert.Equal(4, summary.Answered);
        var rows = await DatasetReader.ReadAllRowsAsync(options.OutputDirectory);
        Assert.Equal(["line-1", "line-1", "line-2", "line-2", "line-3", "line-3"], rows.Select(r => r.Distillery!.PromptId));
        Assert.Equal([0, 1, 0, 1, 0, 1], rows.Select(r => r.Distillery!.Sample));
        Assert.NotEqual(rows[0].Distillery!.RequestHash, rows[1].Distillery!.RequestHash);
        Assert.Equal(rows[0].Distillery!.RequestHash, rows[4].Distillery!.RequestHash);
    }

    [Fact]
    public async Task A_bad_prompts_line_stops_the_run_before_anything_is_sent()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        var prompts = dir.File("bad.jsonl");
        await File.WriteAllLinesAsync(prompts, ["{\"prompt\":\"fine\"}", "", "{\"messages\":[{\"role\":\"user\"}]}"]);

        var e = await Assert.ThrowsAsync<InputException>(() => RunAsync(server, Options(dir, prompts, new TeacherStatistics())));

        Assert.Equal($"{prompts}:3: messages[0].content must be a string", e.Message);
        Assert.Equal(0, server.Received);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "out")));
    }

    [Fact]
    public async Task A_denied_teacher_is_refused_naming_the_rule_and_nothing_is_sent()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        var policy = TermsPolicy.FromJson("policy.json", """{"rules":[{"provider":"openai","decision":"allow-with-notice","note":"check the terms"},{"name":"no-gpt-test","provider":"openai","model":"gpt-test*","decision":"deny","url":"https://example.com/terms"}]}""");
        var options = Options(dir, WritePrompts(dir, 3), new TeacherStatistics()) with { Policy = policy };

        var e = await Assert.ThrowsAsync<InputException>(() => RunAsync(server, options));

        Assert.Equal("--teacher: openai:gpt-test is denied by policy.json rules[1] (no-gpt-test) (https://example.com/terms); Distillery will not generate data from it", e.Message);
        Assert.Equal(0, server.Received);
    }

    [Fact]
    public async Task A_denied_reported_model_stops_the_run_and_keeps_its_rows_out_of_the_dataset()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        var policy = TermsPolicy.FromJson("policy.json", """{"rules":[{"provider":"openai","decision":"allow-with-notice","note":"check the terms"},{"provider":"openai","model":"fake-gpt-2026*","decision":"deny","note":"reported model is off limits"}]}""");
        var options = Options(dir, WritePrompts(dir, 3), new TeacherStatistics()) with { Policy = policy, Concurrency = 1 };

        var e = await Assert.ThrowsAsync<DistilleryException>(() => RunAsync(server, options));

        Assert.Contains("denied by policy.json rules[1] (openai:fake-gpt-2026*) (reported model is off limits)", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.Received);
        // The stop is decided before the slot takes the next request: the ledger holds only what was sent.
        await using (var ledger = await TeacherLedger.OpenAsync(Path.Combine(options.OutputDirectory, "ledger.db")))
            Assert.Equal([LedgerStatus.Answered], (await ledger.ReadAllAsync()).Select(e => e.Status));
        Assert.Empty(await DatasetReader.ReadAllRowsAsync(options.OutputDirectory));
        var manifest = (await DatasetReader.ReadManifestAsync(options.OutputDirectory))!;
        Assert.Equal(["allow-with-notice", "deny"], manifest.Policy.Select(p => p.Decision));
    }

    [Fact]
    public async Task The_budget_stops_new_requests_before_it_is_passed()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        // Worst case a request: ~8 prompt tokens at $1000/M + 16 completion tokens at $1000/M = $0.024; the budget fits four.
        var options = Options(dir, WritePrompts(dir, 10), new TeacherStatistics()) with { Price = new ModelPrice(1000m, 1000m), BudgetUsd = 0.1m, Concurrency = 1 };

        var summary = await RunAsync(server, options);

        Assert.True(summary.BudgetReached);
        Assert.InRange(summary.CostUsd, 0.01m, 0.1m);
        Assert.Equal(summary.Answered, server.Received);
        Assert.Equal(10 - summary.Answered, summary.NotSent);
        Assert.False(summary.Succeeded);
    }

    private static async Task<string> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }
}
