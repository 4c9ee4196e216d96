using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.TestSupport.Cli;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;
using static Distillery.Cli.Tests.Verbs.SharedLedgerWorkers;

namespace Distillery.Cli.Tests.Verbs;

/// <summary>Several <c>distill generate</c> processes working one job through one SQLite ledger file, each with its own --out.</summary>
public sealed class SharedLedgerTests
{
    [Trait("Speed", "Slow")]
    [Fact]
    public async Task Three_processes_on_one_sqlite_ledger_pay_nothing_twice_crash_never_and_together_hold_every_prompt()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        server.Latency = TimeSpan.FromMilliseconds(15); // requests overlap across the processes, as in the run
        const int count = 90;
        var prompts = WritePrompts(dir, count);
        var ledger = dir.File("shared-ledger.db");

        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(i =>
            DistillProcess.RunAsync(WorkerArgs(server, prompts, dir.File($"out{i}"), ledger), ("DISTILL_WORKER_KEY", "sk-shared"))));

        AssertEveryPromptPaidOnceAndHeld(server, results, dir, count);

        var merged = dir.File("merged");
        var (exit, output, error) = await Distill.RunAsync(["merge", "--prompts", prompts, "--out", merged, dir.File("out0"), dir.File("out1"), dir.File("out2")]);
        Assert.True(exit == 0, error);
        Assert.Contains($"{count} rows in prompt order", output, StringComparison.Ordinal);
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"q{i}"), PromptIds(merged));
    }

    [Fact]
    public async Task Merge_puts_the_rows_of_several_folders_in_prompt_order_once_each_with_a_merged_manifest()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        var all = WritePrompts(dir, 6);
        var lines = File.ReadAllLines(all);
        var first = dir.File("first.jsonl");
        var second = dir.File("second.jsonl");
        File.WriteAllLines(first, lines[..4]); // q0..q3
        File.WriteAllLines(second, lines[2..].Reverse()); // q5..q2: q2 and q3 answered in both folders
        foreach (var (prompts, output) in new[] { (first, "a"), (second, "b") })
        {
            var (code, _, err) = await Distill.RunAsync(WorkerArgs(server, prompts, dir.File(output), dir.File("ledger.db")));
            Assert.True(code == 0, err);
        }
        Assert.Equal(6, server.AnsweredTotal); // the shared ledger answered q2 and q3 the second time

        var merged = dir.File("merged");
        var (exit, output2, error) = await Distill.RunAsync(["merge", "--prompts", all, "--out", merged, dir.File("a"), dir.File("b")]);

        Assert.True(exit == 0, error);
        Assert.Contains("6 rows in prompt order", output2, StringComparison.Ordinal);
        Assert.Contains("2 duplicate rows dropped; 0 of 6 prompts without a row", output2, StringComparison.Ordinal);
        Assert.Equal(["q0", "q1", "q2", "q3", "q4", "q5"], PromptIds(merged));
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(merged, "manifest.json")))!;
        Assert.Equal(6, manifest["counts"]!["rows"]!.GetValue<int>());
        Assert.Equal(6, manifest["prompts"]!["count"]!.GetValue<int>());
        var rows = File.ReadAllLines(Path.Combine(merged, "data.jsonl")).Select(l => JsonNode.Parse(l)!["distillery"]!["usage"]!["completion_tokens"]!.GetValue<int>()).Sum();
        Assert.Equal(rows, manifest["tokens"]!["completion_tokens"]!.GetValue<int>());

        // Merging into a folder that holds rows is refused before anything is written.
        var (again, _, againError) = await Distill.RunAsync(["merge", "--prompts", all, "--out", merged, dir.File("a")]);
        Assert.Equal(2, again);
        Assert.Contains("already holds rows", againError, StringComparison.Ordinal);
    }
}
