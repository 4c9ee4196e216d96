using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Ledger;
using Distillery.Teachers.Labeling;
using Distillery.Teachers.OpenAi;
using Distillery.TestSupport.Cli;
using Distillery.TestSupport.Databases;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;
using Microsoft.Extensions.Time.Testing;
using static Distillery.Cli.Tests.Verbs.SharedLedgerWorkers;

namespace Distillery.Cli.Tests.Verbs;

/// <summary>
/// <c>distill generate --take-share</c>: processes on one ledger (a SQLite file, a PostgreSQL database) each answer a share of the job into
/// their own folder, and <c>distill merge</c> makes the one dataset; a killed process's claims are taken over once they run out, and its answers stay its share.
/// </summary>
[Trait("Speed", "Slow")]
public sealed class ShareModeTests
{
    private const int Jobs = 60;

    [Fact]
    public async Task Three_processes_on_one_sqlite_ledger_each_hold_only_their_share_paid_once_and_merge_to_the_single_process_dataset()
    {
        using var dir = new ScratchFolder();
        await ThreeSharesMergeToOneDatasetAsync(dir, dir.File("shared-ledger.db"));
    }

    [PostgresFact]
    public async Task Three_processes_on_one_postgres_ledger_each_hold_only_their_share_paid_once_and_merge_to_the_single_process_dataset()
    {
        using var dir = new ScratchFolder();
        await using var database = await PostgresTestDatabase.CreateAsync();
        await ThreeSharesMergeToOneDatasetAsync(dir, database.Url);
    }

    [Fact]
    public async Task A_process_killed_on_a_sqlite_ledger_has_its_share_left_alone_while_its_claims_live_and_taken_over_after()
    {
        using var dir = new ScratchFolder();
        await KilledShareIsTakenOverAfterItsLeaseAsync(dir, dir.File("shared-ledger.db"));
    }

    [PostgresFact]
    public async Task A_process_killed_on_a_postgres_ledger_has_its_share_left_alone_while_its_claims_live_and_taken_over_after()
    {
        using var dir = new ScratchFolder();
        await using var database = await PostgresTestDatabase.CreateAsync();
        await KilledShareIsTakenOverAfterItsLeaseAsync(dir, database.Url);
    }

    private static async Task ThreeSharesMergeToOneDatasetAsync(ScratchFolder dir, string ledger)
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        server.WaitForClients = 3; // no answer exists before all three have asked: they start together, the ledger empty
        server.Latency = TimeSpan.FromMilliseconds(5);
        var prompts = WritePrompts(dir, Jobs);

        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(i =>
            DistillProcess.RunAsync([.. WorkerArgs(server, prompts, dir.File($"out{i}"), ledger), "--take-share"], ("DISTILL_WORKER_KEY", $"sk-share-{i}"))));

        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.Error));
        var paid = server.AnsweredByPrompt();
        Assert.Equal(Jobs, paid.Count);
        Assert.All(paid, p => Assert.True(p.Value == 1, $"{p.Key} was paid {p.Value} times"));
        var shares = Enumerable.Range(0, 3).Select(i => PromptIds(dir.File($"out{i}"))).ToList();
        Assert.All(shares, share => Assert.InRange(share.Count, 1, Jobs - 1)); // each took a share; no folder holds all
        Assert.Equal(Enumerable.Range(0, Jobs).Select(i => $"q{i}").Order(), shares.SelectMany(s => s).Order()); // every prompt in exactly one folder
        for (var i = 0; i < 3; i++) Assert.Equal(Jobs - shares[i].Count, LeftToOthers(results[i].Output));

        var merged = dir.File("merged");
        var (exit, output, error) = await Distill.RunAsync(["merge", "--prompts", prompts, "--out", merged, dir.File("out0"), dir.File("out1"), dir.File("out2")]);
        Assert.True(exit == 0, error);
        Assert.Contains($"{Jobs} rows in prompt order into {merged} (0 duplicate rows dropped; 0 of {Jobs} prompts without a row)", output, StringComparison.Ordinal);

        // The same job in one process, on a ledger of its own: its dataset is the merged one, row for row.
        var single = dir.File("single");
        var (code, _, singleError) = await DistillProcess.RunAsync(WorkerArgs(server, prompts, single, dir.File("single-ledger.db")), ("DISTILL_WORKER_KEY", "sk-single"));
        Assert.True(code == 0, singleError);
        Assert.Equal(await ContentAsync(single), await ContentAsync(merged));
    }

    private static async Task KilledShareIsTakenOverAfterItsLeaseAsync(ScratchFolder dir, string ledger)
    {
        await using var server = await FakeOpenAiServer.StartAsync();
        const int count = 20;
        var prompts = WritePrompts(dir, count);
        // Six answers, then the server holds every request: the kill lands with four claimed requests in flight, once the six rows are written.
        server.HoldAfter = 6;
        await KillWhenAsync(DistillProcess.Start([.. WorkerArgs(server, prompts, dir.File("killed"), ledger), "--take-share"], ("DISTILL_WORKER_KEY", "sk-killed")),
            async () => server.Held >= 4 && await AnsweredInAsync(ledger) == 6 && RowsWritten(dir.File("killed")) == 6);
        server.HoldAfter = -1;
        var killedAt = DateTimeOffset.UtcNow;

        // While its claims (30 s, renewed every 10 s until the kill) live, a run taking its share leaves them to the dead process,
        // and its six answers too: they are its share ...
        var early = await RunShareAsync(server, prompts, dir.File("survivor"), ledger, new FakeTimeProvider(killedAt));
        Assert.True(early.Succeeded);
        Assert.Equal((0, 10, 10), (early.FromLedger, early.Answered, early.LeftToOthers));

        // ... once they have run out (on its clock: nothing waits), it takes the four over ...
        var afterLease = killedAt + LedgerLease.DefaultDuration + TimeSpan.FromSeconds(1);
        var late = await RunShareAsync(server, prompts, dir.File("survivor"), ledger, new FakeTimeProvider(afterLease));
        Assert.True(late.Succeeded);
        Assert.Equal((10, 4, 6), (late.AlreadyPresent, late.Answered, late.LeftToOthers));

        // ... and the killed process, rerun into its folder, still holds its six and leaves the rest to the survivor.
        var rerun = await RunShareAsync(server, prompts, dir.File("killed"), ledger, new FakeTimeProvider(afterLease));
        Assert.True(rerun.Succeeded);
        Assert.Equal((0, 6, 14), (rerun.Answered, rerun.RowsDone, rerun.LeftToOthers));

        var paid = server.AnsweredByPrompt();
        Assert.Equal(count, paid.Count);
        Assert.All(paid, p => Assert.Equal(1, p.Value));
        await using (var reopened = await TeacherLedger.OpenAsync(ledger))
        {
            var entries = await reopened.ReadAllAsync();
            Assert.All(entries, e => Assert.Equal(LedgerStatus.Answered, e.Status));
            Assert.Equal(4, entries.Count(e => e.Sends == 2)); // the dead process's four claims, taken over once each
        }
        var (exit, output, error) = await Distill.RunAsync(["merge", "--prompts", prompts, "--out", dir.File("merged"), dir.File("killed"), dir.File("survivor")]);
        Assert.True(exit == 0, error);
        Assert.Contains($"{count} rows in prompt order into {dir.File("merged")} (0 duplicate rows dropped; 0 of {count} prompts without a row)", output, StringComparison.Ordinal);
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"q{i}"), PromptIds(dir.File("merged")));
    }

    /// <summary>A run taking its share in this process, as <c>distill generate --take-share</c> with the workers' options makes it, on <paramref name="clock"/>.</summary>
    private static Task<LabelingSummary> RunShareAsync(FakeOpenAiServer server, string prompts, string output, string ledger, TimeProvider clock)
    {
        var teacher = new OpenAiTeacher("gpt-test", server.BaseUrl, "sk-survivor", TimeSpan.FromSeconds(30));
        var options = new LabelingOptions
        {
            PromptsPath = prompts,
            OutputDirectory = output,
            LedgerPath = ledger,
            Sampling = new SamplingParameters { Temperature = 0, TopLogprobs = 3, MaxTokens = 8 },
            Concurrency = 4,
            TakeShare = true,
        };
        return new LabelingRunner(teacher, options, clock).RunAsync();
    }

    /// <summary>The rows without what differs between runs (times, cost): messages, prompt, sample, request, tokens and logprobs, usage.</summary>
    private static async Task<List<string>> ContentAsync(string dataset) =>
    [
        .. (await DatasetReader.ReadAllRowsAsync(dataset)).Select(r => JsonSerializer.Serialize(new
        {
            r.Messages,
            r.Distillery!.PromptId,
            r.Distillery.Sample,
            r.Distillery.RequestHash,
            r.Distillery.Tokens,
            r.Distillery.Usage,
            r.Distillery.FinishReason,
        })),
    ];

    /// <summary>The "left to other processes" count of a generate summary (0 when the row is not shown).</summary>
    private static int LeftToOthers(string output) =>
        Regex.Match(output, @"left to other processes\D*(\d+)") is { Success: true } m ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;

    /// <summary>The complete lines of a dataset being written by another process.</summary>
    private static int RowsWritten(string dataset)
    {
        var data = Path.Combine(dataset, "data.jsonl");
        return File.Exists(data) ? File.ReadAllText(data).Count(c => c == '\n') : 0;
    }

    private static async Task<int> AnsweredInAsync(string ledger)
    {
        await using var opened = await TeacherLedger.OpenAsync(ledger);
        return (await opened.AnsweredHashesAsync()).Count;
    }

    /// <summary>SIGKILLs the child once <paramref name="condition"/> holds.</summary>
    private static async Task KillWhenAsync(Process child, Func<Task<bool>> condition)
    {
        try
        {
            var watch = Stopwatch.StartNew();
            while (!await condition() && watch.Elapsed < TimeSpan.FromSeconds(60) && !child.HasExited) await Task.Delay(20);
            Assert.False(child.HasExited, "distill ended early");
            child.Kill(); // SIGKILL: nothing is released, the claims must run out
            await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            if (!child.HasExited) child.Kill();
            child.Dispose();
        }
    }
}
