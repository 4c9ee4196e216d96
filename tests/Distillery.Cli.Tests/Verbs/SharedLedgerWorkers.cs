using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Distillery.TestSupport.Cli;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;

namespace Distillery.Cli.Tests.Verbs;

/// <summary>What the shared-ledger tests (SQLite and PostgreSQL) share: a worker's arguments, the prompts, and the checks on the workers' folders.</summary>
public static class SharedLedgerWorkers
{
    /// <summary>The arguments of one worker: the same prompts, teacher and ledger; its own output folder.</summary>
    public static string[] WorkerArgs(FakeOpenAiServer server, string prompts, string output, string ledger) =>
    [
        "generate", "--prompts", prompts, "--teacher", "openai:gpt-test", "--out", output, "--ledger", ledger, "--base-url", server.BaseUrl.ToString(),
        "--api-key-env", "DISTILL_WORKER_KEY", "--temperature", "0", "--top-logprobs", "3", "--max-tokens", "8", "--concurrency", "4",
    ];

    /// <summary>A prompts file of <paramref name="count"/> distinct prompts.</summary>
    public static string WritePrompts(ScratchFolder dir, int count)
    {
        var path = dir.File("prompts.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, count).Select(i => $"{{\"id\":\"q{i}\",\"prompt\":\"shared question {i}\"}}"));
        return path;
    }

    /// <summary>The prompt ids of a dataset folder's rows (empty when it has none).</summary>
    public static List<string> PromptIds(string dataset)
    {
        var data = Path.Combine(dataset, "data.jsonl");
        return File.Exists(data) ? [.. File.ReadAllLines(data).Select(line => JsonNode.Parse(line)!["distillery"]!["prompt_id"]!.GetValue<string>())] : [];
    }

    /// <summary>Every worker exited 0, the server answered each prompt once, and the workers' folders together hold every prompt, each folder each prompt at most once.</summary>
    public static void AssertEveryPromptPaidOnceAndHeld(FakeOpenAiServer server, CliResult[] results, ScratchFolder dir, int count)
    {
        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.Error));
        var answered = server.AnsweredByPrompt();
        Assert.Equal(count, answered.Count);
        Assert.All(answered, p => Assert.True(p.Value == 1, $"{p.Key} was paid {p.Value} times"));
        var ids = Enumerable.Range(0, results.Length).Select(i => PromptIds(dir.File($"out{i}"))).ToList();
        Assert.All(ids, folder => Assert.Equal(folder.Count, folder.Distinct().Count()));
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"q{i}").Order(), ids.SelectMany(x => x).Distinct().Order());
    }
}
