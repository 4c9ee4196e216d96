using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.TestSupport.Cli;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;

namespace Distillery.Cli.Tests.Verbs;

public sealed class GenerateVerbTests
{
    private static string[] Args(FakeOpenAiServer server, string prompts, string output, string keyVariable, params string[] more) =>
    [
        "generate", "--prompts", prompts, "--teacher", "openai:gpt-test", "--out", output, "--base-url", server.BaseUrl.ToString(),
        "--api-key-env", keyVariable, "--temperature", "0", "--top-logprobs", "3", "--max-tokens", "16", "--concurrency", "4", .. more,
    ];

    private static string WritePrompts(ScratchFolder dir, int count)
    {
        var path = dir.File("prompts.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, count).Select(i => $"{{\"id\":\"q{i}\",\"prompt\":\"question number {i} please\"}}"));
        return path;
    }

    [SharedDataFact("stories260K/stories260K.bin")]
    public async Task Samples_of_a_seeded_local_teacher_are_separate_draws_and_the_first_is_the_single_sample_answer()
    {
        using var dir = new ScratchFolder();
        var prompts = WritePrompts(dir, 4);
        string[] Generate(string output, int samples) => ["generate", "--prompts", prompts, "--teacher", "llama2c:" + SharedTestData.Get("stories260K/stories260K.bin"),
            "--out", output, "--max-tokens", "24", "--temperature", "1", "--seed", "1", "--samples", samples.ToString(System.Globalization.CultureInfo.InvariantCulture)];

        var three = await Distill.RunAsync(Generate(dir.File("three"), 3));
        var one = await Distill.RunAsync(Generate(dir.File("one"), 1));

        Assert.True(three.ExitCode == 0, three.Error);
        Assert.True(one.ExitCode == 0, one.Error);
        var rows = await Core.Datasets.DatasetReader.ReadAllRowsAsync(dir.File("three"));
        var single = await Core.Datasets.DatasetReader.ReadAllRowsAsync(dir.File("one"));
        Assert.Equal(12, rows.Count);
        foreach (var prompt in rows.GroupBy(r => r.Distillery!.PromptId))
        {
            var answers = prompt.Select(r => r.Messages[^1].Content).ToList();
            Assert.Equal(3, answers.Distinct().Count()); // three draws, not one draw three times
            Assert.Equal(single.Single(r => r.Distillery!.PromptId == prompt.Key).Messages[^1].Content, answers[0]);
        }
        Assert.Equal(3, rows.Select(r => r.Distillery!.Teacher.Sampling.Seed).Distinct().Count()); // each row records the seed it was drawn with
    }

    [Fact]
    public async Task A_malformed_prompts_line_is_file_line_with_exit_2_and_nothing_is_sent()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        var prompts = dir.File("prompts.jsonl");
        await File.WriteAllLinesAsync(prompts, ["{\"prompt\":\"ok\"}", "{\"prompt\":\"ok too\"}", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],}"]);

        var (exit, _, error) = await Distill.RunAsync(Args(server, prompts, dir.File("out"), ApiKeyVariable.Create("sk-x")));

        Assert.Equal(2, exit);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"distill: {prompts}:3: not valid JSON", line, StringComparison.Ordinal);
        Assert.Equal(0, server.Received);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public async Task A_run_prints_its_summary_and_exits_0_and_a_missing_key_for_a_remote_api_is_exit_2()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        var prompts = WritePrompts(dir, 5);

        var (exit, output, error) = await Distill.RunAsync(Args(server, prompts, dir.File("out"), ApiKeyVariable.Create("sk-x"), "--price-input", "1", "--price-output", "2"));

        Assert.True(exit == 0, error);
        Assert.Contains("5 of 5", output, StringComparison.Ordinal);
        Assert.Contains("answered by the teacher", output, StringComparison.Ordinal);
        Assert.Equal(5, File.ReadAllLines(Path.Combine(dir.File("out"), "data.jsonl")).Length);

        // A remote API needs its key: refused before anything is sent (the address is never contacted).
        var remote = Args(server, prompts, dir.File("out2"), "DISTILL_TEST_UNSET_VARIABLE");
        remote[Array.IndexOf(remote, "--base-url") + 1] = "https://api.example.invalid/v1";
        var (missing, _, missingError) = await Distill.RunAsync(remote);
        Assert.Equal(2, missing);
        Assert.StartsWith("distill: DISTILL_TEST_UNSET_VARIABLE: is not set", missingError, StringComparison.Ordinal);

        // A server on this machine (distill serve, llama.cpp, vLLM, Ollama) takes no key.
        var (local, _, localError) = await Distill.RunAsync(Args(server, prompts, dir.File("out3"), "DISTILL_TEST_UNSET_VARIABLE"));
        Assert.True(local == 0, localError);
    }

    [Fact]
    public async Task Any_failed_request_makes_exit_1_with_the_servers_message()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        server.Faults = (prompt, _) => prompt.Contains("number 2 ", StringComparison.Ordinal) ? Fault.BadRequest : Fault.None;

        var (exit, output, error) = await Distill.RunAsync(Args(server, WritePrompts(dir, 4), dir.File("out"), ApiKeyVariable.Create("sk-x")));

        Assert.Equal(1, exit);
        Assert.Contains("1 request(s) failed (first: prompt q2 (line 3): HTTP 400: This model's maximum context length is 8 tokens.)", error, StringComparison.Ordinal);
        Assert.Contains("3 of 4", output, StringComparison.Ordinal);
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task Killed_mid_run_then_resumed_equals_an_uninterrupted_run_and_each_prompt_is_answered_once()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        var prompts = WritePrompts(dir, 24);
        var key = "sk-kill-test";
        var interrupted = dir.File("interrupted");

        // Eight answers, then the server holds every request: the kill lands with requests in flight.
        server.HoldAfter = 8;
        var child = DistillProcess.Start(Args(server, prompts, interrupted, "DISTILL_CHILD_KEY"), ("DISTILL_CHILD_KEY", key));
        try
        {
            var data = Path.Combine(interrupted, "data.jsonl");
            var watch = Stopwatch.StartNew();
            while (!(File.Exists(data) && DatasetLines.Count(data) >= 8 && server.Held >= 1) && watch.Elapsed < TimeSpan.FromSeconds(60) && !child.HasExited)
                await Task.Delay(20);
            if (child.HasExited) Assert.Fail($"distill ended early: {await child.StandardError.ReadToEndAsync()}");
            Assert.Equal(8, DatasetLines.Count(data));
            child.Kill();
            await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            if (!child.HasExited) child.Kill();
            child.Dispose();
        }
        var aborted = Stopwatch.StartNew();
        while (server.Events.Count(e => e.Outcome == "aborted") < server.Held && aborted.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(20);
        Assert.True(server.Events.Count(e => e.Outcome == "aborted") >= 1);

        server.HoldAfter = -1;
        var (resumed, _, resumedError) = await DistillProcess.RunAsync(Args(server, prompts, interrupted, "DISTILL_CHILD_KEY"), ("DISTILL_CHILD_KEY", key));
        Assert.True(resumed == 0, resumedError);
        var answeredOnce = server.AnsweredByPrompt();
        Assert.Equal(24, answeredOnce.Count);
        Assert.All(answeredOnce, p => Assert.Equal(1, p.Value));

        server.Reset();
        var straight = dir.File("straight");
        var (exit, _, error) = await DistillProcess.RunAsync(Args(server, prompts, straight, "DISTILL_CHILD_KEY"), ("DISTILL_CHILD_KEY", key));
        Assert.True(exit == 0, error);
        Assert.Equal(24, server.AnsweredTotal);

        // Rows equal but for the time they were answered.
        Assert.Equal(await DatasetText.RowsAsync(straight, withoutTimestamps: true), await DatasetText.RowsAsync(interrupted, withoutTimestamps: true));
        Assert.DoesNotContain(key, await File.ReadAllTextAsync(Path.Combine(interrupted, "data.jsonl")), StringComparison.Ordinal);
    }
}
