using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Ledger;
using Distillery.TestSupport.Cli;
using Distillery.TestSupport.Databases;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;
using static Distillery.Cli.Tests.Verbs.SharedLedgerWorkers;

namespace Distillery.Cli.Tests.Verbs;

/// <summary><c>distill generate</c> processes sharing a ledger in a real PostgreSQL server (build/postgres-test-server.sh).</summary>
public sealed class PostgresLedgerTests
{
    private static readonly (string, string) Key = ("DISTILL_WORKER_KEY", "sk-shared");

    [Fact]
    public async Task An_unreachable_database_url_is_one_line_and_exit_2_and_no_folder_named_after_the_url()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        var prompts = WritePrompts(dir, 2);
        var cwd = Environment.CurrentDirectory;

        var (exit, _, error) = await Distill.RunAsync(WorkerArgs(server, prompts, dir.File("out"), "postgres://someone:secret-pw@127.0.0.1:1/ledger"));

        Assert.Equal(2, exit);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("distill: --ledger: postgres://someone@127.0.0.1:1/ledger: cannot reach the ledger database", line, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-pw", error, StringComparison.Ordinal);
        Assert.Equal(0, server.Received);
        Assert.False(Directory.Exists(Path.Combine(cwd, "postgres:")));
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Trait("Speed", "Slow")]
    [PostgresFact]
    public async Task Three_processes_on_one_postgres_ledger_pay_nothing_twice_and_together_hold_every_prompt_once_merged()
    {
        using var dir = new ScratchFolder();
        await using var database = await PostgresTestDatabase.CreateAsync();
        await using var server = await FakeOpenAiServer.StartAsync();
        server.Latency = TimeSpan.FromMilliseconds(15);
        const int count = 90;
        var prompts = WritePrompts(dir, count);

        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => DistillProcess.RunAsync(WorkerArgs(server, prompts, dir.File($"out{i}"), database.Url), Key)));

        AssertEveryPromptPaidOnceAndHeld(server, results, dir, count);
        await using var ledger = await TeacherLedger.OpenAsync(database.Url);
        var entries = await ledger.ReadAllAsync();
        Assert.Equal(count, entries.Count);
        Assert.All(entries, e => Assert.Equal((LedgerStatus.Answered, 1), (e.Status, e.Sends)));
    }

    [Trait("Speed", "Slow")]
    [PostgresFact]
    public async Task A_process_killed_mid_run_has_its_claims_taken_over_after_they_run_out()
    {
        using var dir = new ScratchFolder();
        await using var database = await PostgresTestDatabase.CreateAsync();
        await using var server = await FakeOpenAiServer.StartAsync();
        const int count = 20;
        var prompts = WritePrompts(dir, count);
        string[] Worker(string output) => [.. WorkerArgs(server, prompts, output, database.Url), "--claim-lease", "1"];

        // Six answers, then the server holds every request: the kill lands with claimed requests in flight.
        server.HoldAfter = 6;
        var child = DistillProcess.Start(Worker(dir.File("killed")), Key);
        try
        {
            var watch = Stopwatch.StartNew();
            // Killed once the six answers are recorded, so what the kill loses is only the four held in flight.
            while (!(server.Held >= 4 && await AnsweredInAsync(database.Url) == 6) && watch.Elapsed < TimeSpan.FromSeconds(60) && !child.HasExited) await Task.Delay(20);
            Assert.False(child.HasExited, "distill ended early");
            child.Kill(); // SIGKILL: nothing is released, the claims must run out
            await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            if (!child.HasExited) child.Kill();
            child.Dispose();
        }
        await using (var ledger = await TeacherLedger.OpenAsync(database.Url))
            Assert.Equal(4, (await ledger.ReadAllAsync()).Count(e => e.Status == LedgerStatus.Pending));

        server.HoldAfter = -1;
        var (exit, _, error) = await DistillProcess.RunAsync(Worker(dir.File("survivor")), Key);

        Assert.True(exit == 0, error);
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"q{i}"), PromptIds(dir.File("survivor")));
        var answered = server.AnsweredByPrompt();
        Assert.Equal(count, answered.Count);
        Assert.All(answered, p => Assert.Equal(1, p.Value));
        await using var reopened = await TeacherLedger.OpenAsync(database.Url);
        var entries = await reopened.ReadAllAsync();
        Assert.All(entries, e => Assert.Equal(LedgerStatus.Answered, e.Status));
        Assert.Equal(4, entries.Count(e => e.Sends == 2)); // the killed process's four claims, taken over once each
    }

    private static async Task<int> AnsweredInAsync(string url)
    {
        await using var ledger = await TeacherLedger.OpenAsync(url);
        return (await ledger.AnsweredHashesAsync()).Count;
    }

    [Trait("Speed", "Slow")]
    [PostgresFact]
    public async Task A_lost_database_connection_is_one_line_and_exit_1_and_a_rerun_finishes_the_job()
    {
        using var dir = new ScratchFolder();
        await using var database = await PostgresTestDatabase.CreateAsync();
        await using var server = await FakeOpenAiServer.StartAsync();
        const int count = 60;
        var prompts = WritePrompts(dir, count);
        var output = dir.File("out");
        string[] Worker() => [.. WorkerArgs(server, prompts, output, database.Url), "--claim-lease", "2"];

        server.Latency = TimeSpan.FromMilliseconds(150); // the run is mid-way, requests in flight, when the database goes
        var child = DistillProcess.Start(Worker(), Key);
        try
        {
            var watch = Stopwatch.StartNew();
            while (server.AnsweredTotal < 8 && watch.Elapsed < TimeSpan.FromSeconds(60) && !child.HasExited) await Task.Delay(10);
            Assert.False(child.HasExited, "distill ended early");
            await database.CutConnectionsAsync();
            await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            var error = await child.StandardError.ReadToEndAsync();
            Assert.Equal(1, child.ExitCode);
            var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("lost the ledger database", line, StringComparison.Ordinal);
        }
        finally
        {
            if (!child.HasExited) child.Kill();
            child.Dispose();
        }

        await database.RestoreConnectionsAsync();
        server.Latency = TimeSpan.Zero;
        var (exit, _, rerunError) = await DistillProcess.RunAsync(Worker(), Key);
        Assert.True(exit == 0, rerunError);
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"q{i}"), PromptIds(output));
    }
}
