using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;

namespace Distillery.Cli.Tests.Verbs;

public sealed class AuditVerbTests
{
    private static async Task<string> GenerateAsync(ScratchFolder dir, FakeOpenAiServer server, int count)
    {
        var prompts = dir.File("p.txt");
        await File.WriteAllLinesAsync(prompts, [.. Enumerable.Range(0, count).Select(i => $"say {i} things")]);
        var output = dir.File("data");
        var (exit, _, error) = await Distill.RunAsync("generate", "--prompts", prompts, "--teacher", "openai:gpt-test", "--out", output,
            "--base-url", server.BaseUrl.ToString(), "--api-key-env", ApiKeyVariable.Create("sk-a"), "--top-logprobs", "2", "--price-input", "1000", "--price-output", "2000");
        Assert.True(exit == 0, error);
        return output;
    }

    [Fact]
    public async Task Audit_of_a_dataset_gives_rows_tokens_share_and_cost_as_json_and_as_a_table()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        var data = await GenerateAsync(dir, server, 4);

        var (exit, output, error) = await Distill.RunAsync("audit", data, "--json");

        Assert.True(exit == 0, error);
        var report = JsonNode.Parse(output)!;
        Assert.Equal("dataset", (string?)report["kind"]);
        var teacher = report["teachers"]!.AsArray().Single()!;
        Assert.Equal("openai:gpt-test", (string?)teacher["teacher"]);
        Assert.Equal("fake-gpt-2026-01-01", (string?)teacher["models_reported"]![0]);
        Assert.Equal(4, (int?)teacher["rows"]);
        // Each answer is "echo" and the three words reversed: 4 completion tokens; prompt "say N things" is 3 words + 3.
        Assert.Equal(16, (long?)teacher["completion_tokens"]);
        Assert.Equal(24, (long?)teacher["prompt_tokens"]);
        Assert.Equal(1.0, (double?)teacher["share"]);
        Assert.Equal((24 * 1000m + 16 * 2000m) / 1_000_000m, (decimal?)teacher["cost_usd"]);
        Assert.NotNull((string?)teacher["first"]);

        var (tableExit, table, _) = await Distill.RunAsync("audit", data);
        Assert.Equal(0, tableExit);
        Assert.Contains("openai:gpt-test", table, StringComparison.Ordinal);
        Assert.Contains("100.0%", table, StringComparison.Ordinal);
        Assert.Contains("$0.0560", table, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_of_a_model_gives_each_teachers_share_of_all_its_training_tokens()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        var data = await GenerateAsync(dir, server, 3);
        var plain = dir.File("plain");
        Directory.CreateDirectory(plain);
        // 48 characters of assistant text count as 12 tokens; the teacher's 12 completion tokens are half the total.
        await File.WriteAllTextAsync(Path.Combine(plain, "data.jsonl"), $"{{\"messages\":[{{\"role\":\"user\",\"content\":\"q\"}},{{\"role\":\"assistant\",\"content\":\"{new string('x', 48)}\"}}]}}\n");
        var model = dir.File("student");
        Directory.CreateDirectory(model);
        await File.WriteAllTextAsync(Path.Combine(model, "distillery.json"), "{\"datasets\":[\"../data\",\"../plain\"]}");

        var (exit, output, error) = await Distill.RunAsync("audit", model, "--json");

        Assert.True(exit == 0, error);
        var report = JsonNode.Parse(output)!;
        Assert.Equal("model", (string?)report["kind"]);
        Assert.Equal(24, (long?)report["training_tokens"]);
        var shares = report["teachers"]!.AsArray().ToDictionary(t => (string)t!["teacher"]!, t => (double)t!["share"]!);
        Assert.Equal(0.5, shares["openai:gpt-test"], 9);
        Assert.Equal(0.5, shares["(no teacher)"], 9);
    }

    [Fact]
    public async Task Audit_of_a_folder_that_is_neither_is_exit_2()
    {
        using var dir = new ScratchFolder();
        var (exit, _, error) = await Distill.RunAsync("audit", dir.Path);
        Assert.Equal(2, exit);
        Assert.Contains("neither a dataset folder", error, StringComparison.Ordinal);
    }
}
