using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Datasets;
using Distillery.TestSupport.Cli;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;

namespace Distillery.Cli.Tests.Verbs;

/// <summary><c>distill generate --batch</c> against the fake Batch API: a run, bad input, and a process killed with SIGKILL at the two points that matter.</summary>
[Trait("Speed", "Slow")]
public sealed class GenerateBatchTests
{
    private const string KeyVariable = "DISTILL_BATCH_KEY";

    private static string[] Args(FakeBatchServer server, string prompts, string output, params string[] more) =>
    [
        "generate", "--batch", "--batch-poll", "0.05", "--prompts", prompts, "--teacher", "openai:gpt-test", "--out", output, "--base-url", server.BaseUrl.ToString(),
        "--api-key-env", KeyVariable, "--temperature", "0", "--top-logprobs", "3", "--max-tokens", "16", .. more,
    ];

    private static string WritePrompts(ScratchFolder dir, int count)
    {
        var path = dir.File("prompts.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, count).Select(i => $"{{\"id\":\"q{i}\",\"prompt\":\"question number {i} please\"}}"));
        return path;
    }

    [Fact]
    public async Task A_batch_run_exits_0_with_every_row_at_half_the_price_and_a_local_teacher_is_exit_2()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeBatchServer.StartAsync();
        var prompts = WritePrompts(dir, 6);

        var (exit, output, error) = await Distill.RunAsync(Args(server, prompts, dir.File("out"), "--price-input", "2", "--price-output", "8"));

        Assert.True(exit == 0, error);
        Assert.Contains("6 of 6", output, StringComparison.Ordinal);
        var rows = await DatasetReader.ReadAllRowsAsync(dir.File("out"));
        Assert.Equal(6, rows.Count);
        Assert.All(rows, r => Assert.Equal((r.Distillery!.Usage.PromptTokens * 1m + r.Distillery.Usage.CompletionTokens * 4m) / 1_000_000m, r.Distillery.CostUsd));
        Assert.Single(server.Batches);

        var (local, _, localError) = await Distill.RunAsync(["generate", "--batch", "--prompts", prompts, "--teacher", "gguf:/nowhere.gguf", "--out", dir.File("out2")]);
        Assert.Equal(2, local);
        Assert.StartsWith("distill: --batch: sends through the OpenAI Batch API", localError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Killed_after_the_upload_before_the_batch_id_is_stored_and_again_in_progress_a_rerun_sends_nothing_twice()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeBatchServer.StartAsync();
        var prompts = WritePrompts(dir, 12);
        var output = dir.File("out");
        var key = (KeyVariable, "sk-batch");

        // The batch is made, but its id never reaches the process before the kill.
        server.HoldCreateResponses = true;
        await KillWhenAsync(DistillProcess.Start(Args(server, prompts, output), key), () => server.Batches.Count == 1);
        server.HoldCreateResponses = false;

        // The rerun finds the batch by its metadata and follows it; killed while it is in progress.
        server.PollsInProgress = int.MaxValue;
        await KillWhenAsync(DistillProcess.Start(Args(server, prompts, output), key), () => server.Batches[0] is { State: "in_progress", Looks: >= 1 });

        server.PollsInProgress = 1;
        var (exit, _, error) = await DistillProcess.RunAsync(Args(server, prompts, output), key);

        Assert.True(exit == 0, error);
        Assert.Single(server.Batches);
        Assert.Equal(12, server.Submitted.Count);
        Assert.All(server.Submitted.Values, n => Assert.Equal(1, n));
        var rows = await DatasetReader.ReadAllRowsAsync(output);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"q{i}"), rows.Select(r => r.Distillery!.PromptId));
    }

    [Fact]
    public async Task Two_batch_processes_taking_shares_of_one_ledger_submit_each_request_once_and_merge_to_one_row_per_prompt()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeBatchServer.StartAsync();
        const int count = 16;
        var prompts = WritePrompts(dir, count);
        var ledger = dir.File("shared-ledger.db");

        var results = await Task.WhenAll(new[] { "a", "b" }.Select(name =>
            DistillProcess.RunAsync(Args(server, prompts, dir.File(name), "--ledger", ledger, "--take-share"), (KeyVariable, "sk-batch"))));

        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.Error));
        Assert.Equal(count, server.Submitted.Count);
        Assert.All(server.Submitted, s => Assert.True(s.Value == 1, $"{s.Key} was submitted {s.Value} times"));
        var (exit, output, error) = await Distill.RunAsync(["merge", "--prompts", prompts, "--out", dir.File("merged"), dir.File("a"), dir.File("b")]);
        Assert.True(exit == 0, error);
        Assert.Contains($"{count} rows in prompt order", output, StringComparison.Ordinal);
        var rows = await DatasetReader.ReadAllRowsAsync(dir.File("merged"));
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"q{i}"), rows.Select(r => r.Distillery!.PromptId));
    }

    /// <summary>SIGKILLs the process once <paramref name="condition"/> holds on the server.</summary>
    private static async Task KillWhenAsync(Process child, Func<bool> condition)
    {
        try
        {
            var watch = Stopwatch.StartNew();
            while (!condition() && watch.Elapsed < TimeSpan.FromSeconds(60) && !child.HasExited) await Task.Delay(20);
            if (child.HasExited) Assert.Fail($"distill ended early: {await child.StandardError.ReadToEndAsync()}");
            Assert.True(condition(), "the server never reached the point of the kill");
            child.Kill();
            await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            if (!child.HasExited) child.Kill();
            child.Dispose();
        }
    }
}
