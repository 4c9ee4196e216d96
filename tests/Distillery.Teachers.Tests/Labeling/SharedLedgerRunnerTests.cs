using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Ledger;
using Distillery.Core.Pricing;
using Distillery.Teachers.Labeling;
using Distillery.Teachers.Ledger;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;
using Distillery.TestSupport.Time;
using Microsoft.Extensions.Time.Testing;

namespace Distillery.Teachers.Tests.Labeling;

public sealed class SharedLedgerRunnerTests
{
    private static readonly SamplingParameters Sampling = new() { Temperature = 0, MaxTokens = 8, TopLogprobs = 2 };
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Requests_claimed_by_a_dead_process_are_skipped_then_taken_over_once_its_lease_runs_out_and_sent_once()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        var clock = new FakeTimeProvider(T0);
        server.Clock = clock;
        var prompts = dir.File("prompts.jsonl");
        await File.WriteAllLinesAsync(prompts, Enumerable.Range(0, 10).Select(i => $"{{\"id\":\"p{i}\",\"prompt\":\"tell story number {i}\"}}"));
        var ledgerPath = dir.File("shared.db");
        var lease = TimeSpan.FromSeconds(30);
        // A process that claimed p0..p2 at T0 and died: it never renews.
        var identity = TestTeachers.Raw(server).Identity;
        await using (var ledger = await TeacherLedger.OpenAsync(ledgerPath))
        {
            for (var i = 0; i < 3; i++)
            {
                var key = LedgerKey.For(identity, [ChatMessage.User($"tell story number {i}")], Sampling, 0);
                Assert.Equal(ClaimOutcome.Claimed, (await ledger.ClaimAsync(key.Hash, identity, key.Canonical, new LedgerLease("dead", lease), T0)).Outcome);
            }
        }
        var options = new LabelingOptions
        {
            PromptsPath = prompts,
            OutputDirectory = dir.File("out"),
            LedgerPath = ledgerPath,
            ClaimLease = lease,
            Sampling = Sampling,
            Concurrency = 2,
            Price = new ModelPrice(1m, 1m),
        };
        var runner = new LabelingRunner(TestTeachers.Resilient(server, new TeacherStatistics(), time: clock), options, clock);

        var summary = await clock.RunAsync(runner.RunAsync(), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));

        Assert.True(summary.Succeeded);
        Assert.Equal(10, summary.Answered);
        var rows = await DatasetReader.ReadAllRowsAsync(options.OutputDirectory);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"p{i}"), rows.Select(r => r.Distillery!.PromptId));
        var answered = server.AnsweredByPrompt();
        Assert.Equal(10, answered.Count);
        Assert.All(answered, p => Assert.Equal(1, p.Value));
        // The dead process's requests went out only once its claims had run out, and after the others (skipped, then come back to).
        var sent = server.Events.Where(e => e.Outcome == "ok").Select(e => (e.Prompt, e.At)).ToList();
        Assert.All(sent.Where(p => IsDeadProcess(p.Prompt)), p => Assert.True(p.At >= T0 + lease, $"{p.Prompt} sent at {p.At:O}"));
        Assert.All(sent.Take(10 - 3 - options.Concurrency), p => Assert.False(IsDeadProcess(p.Prompt), $"{p.Prompt} sent before the others"));
        await using var reopened = await TeacherLedger.OpenAsync(ledgerPath);
        var entries = await reopened.ReadAllAsync();
        Assert.All(entries, e => Assert.Equal(LedgerStatus.Answered, e.Status));
        Assert.Equal(3, entries.Count(e => e.Sends == 2));
    }

    [Fact]
    public async Task In_share_mode_a_process_started_later_leaves_another_its_answers_and_a_rerun_into_a_lost_folder_writes_its_share_again()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        var prompts = dir.File("prompts.jsonl");
        await File.WriteAllLinesAsync(prompts, Enumerable.Range(0, 10).Select(i => $"{{\"id\":\"p{i}\",\"prompt\":\"tell story number {i}\"}}"));
        LabelingOptions Share(string output) => new()
        {
            PromptsPath = prompts,
            OutputDirectory = dir.File(output),
            LedgerPath = dir.File("shared.db"),
            Sampling = Sampling,
            Concurrency = 2,
            TakeShare = true,
        };
        Task<LabelingSummary> RunAsync(string output) => new LabelingRunner(TestTeachers.Raw(server), Share(output)).RunAsync();

        var first = await RunAsync("a");
        Assert.Equal((10, 10, 0), (first.Answered, first.RowsDone, first.LeftToOthers));

        // Started after the job was done: every answer is the first process's share, in its folder.
        var later = await RunAsync("b");
        Assert.True(later.Succeeded);
        Assert.Equal((0, 0, 0, 10), (later.Answered, later.FromLedger, later.RowsDone, later.LeftToOthers));
        Assert.Empty(await DatasetReader.ReadAllRowsAsync(dir.File("b")));

        // The first folder is lost (or its process was killed before writing rows): a rerun into it writes its share from the ledger.
        Directory.Delete(dir.File("a"), recursive: true);
        var again = await RunAsync("a");
        Assert.Equal((0, 10, 10, 0), (again.Answered, again.FromLedger, again.RowsDone, again.LeftToOthers));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"p{i}"), (await DatasetReader.ReadAllRowsAsync(dir.File("a"))).Select(r => r.Distillery!.PromptId));
        Assert.Equal(10, server.AnsweredTotal);
    }

    private static bool IsDeadProcess(string prompt) => prompt.EndsWith(" 0", StringComparison.Ordinal) || prompt.EndsWith(" 1", StringComparison.Ordinal) || prompt.EndsWith(" 2", StringComparison.Ordinal);
}
