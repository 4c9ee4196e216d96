using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Datasets;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;

namespace Distillery.Cli.Tests.Verbs;

/// <summary>Random-sampling KD's data: <c>generate --sampled-logprobs</c> from a local teacher, then <c>train --teacher-samples</c>.</summary>
public sealed class SampledLogprobsTests
{
    private static string Teacher => "llama2c:" + SharedTestData.Get("stories260K/stories260K.bin");

    [Fact]
    public async Task An_api_teacher_cannot_supply_samples_and_is_refused_before_anything_is_sent()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        var prompts = dir.File("prompts.jsonl");
        await File.WriteAllLinesAsync(prompts, ["{\"prompt\":\"a story\"}"]);

        var (exit, _, error) = await Distill.RunAsync(["generate", "--prompts", prompts, "--teacher", "openai:gpt-test", "--out", dir.File("out"),
            "--base-url", server.BaseUrl.ToString(), "--sampled-logprobs", "12"]);

        Assert.Equal(2, exit);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("distill: --sampled-logprobs: needs a local teacher", line, StringComparison.Ordinal);
        Assert.Equal(0, server.Received);
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task Samples_stored_by_generate_train_a_student_and_asking_for_more_than_stored_names_the_line()
    {
        using var dir = new ScratchFolder();
        var prompts = dir.File("prompts.jsonl");
        await File.WriteAllLinesAsync(prompts, Enumerable.Range(0, 12).Select(i => $"{{\"id\":\"p{i}\",\"prompt\":\"Once upon a time {i}\"}}"));
        var data = dir.File("data");

        var (generated, _, generateError) = await Distill.RunAsync(["generate", "--prompts", prompts, "--teacher", Teacher, "--out", data,
            "--top-logprobs", "3", "--sampled-logprobs", "6", "--max-tokens", "24", "--seed", "3"]);
        Assert.True(generated == 0, generateError);
        var rows = await DatasetReader.ReadAllRowsAsync(data);
        Assert.Equal(12, rows.Count);
        Assert.All(rows.SelectMany(r => r.Distillery!.Tokens), t => Assert.Equal(6, t.SampledLogprobs!.Count));

        var (trained, _, trainError) = await Distill.RunAsync(["train", "--data", data, "--out", dir.File("student"), "--mode", "topk",
            "--teacher-samples", "6", "--steps", "6", "--batch-size", "4", "--eval-every", "3", "--tokenizer", SharedTestData.Get("stories260K/tok512.bin")]);
        Assert.True(trained == 0, trainError);
        Assert.Contains("sampled KL (6 stored teacher samples)", await File.ReadAllTextAsync(Path.Combine(dir.File("student"), "distillery.json")), StringComparison.Ordinal);

        var (refused, _, refusal) = await Distill.RunAsync(["train", "--data", data, "--out", dir.File("student2"), "--mode", "topk",
            "--teacher-samples", "7", "--steps", "2", "--tokenizer", SharedTestData.Get("stories260K/tok512.bin")]);
        Assert.Equal(2, refused);
        Assert.StartsWith($"distill: {Path.Combine(data, "data.jsonl")}:1: has fewer than 7 stored teacher samples", Assert.Single(refusal.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }
}
