using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Ledger;
using Distillery.Core.Provenance;
using Distillery.Models.Decoding;
using Distillery.Models.Loading;
using Distillery.Pipeline;
using Distillery.Teachers;
using Distillery.Teachers.OpenAi;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;
using Distillery.Training.Language.Configuration;
using Distillery.Training.Language.Objectives;
using Distillery.Training.Trainer;
using Xunit.Abstractions;

namespace Distillery.Cli.Tests.Verbs;

/// <summary>On-policy training with a teacher behind an API: stories260K served by <c>distill serve</c>'s server on a loopback port scores the student's samples.</summary>
public sealed class OnPolicyApiTeacherTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string ModelId = ServedStoriesTeacher.ModelId;

    private static readonly string[] Openings =
    [
        "Once upon a time, there was a little girl named Lily.", "Tom had a red ball.", "The sun was hot and the sky was blue.", "Mia loved to sing.",
        "A small bird sat on a tree.", "Ben found a big box.", "The cat was hungry.", "One day, a dog went to the park.",
        "Sue had a new doll.", "The boy saw a frog.", "Max liked to run fast.", "Anna and her mom went to the shop.",
    ];

    private readonly ScratchFolder scratch = new("onpolicy-api");
    private ServedStoriesTeacher served = null!;

    private static string TeacherPath => ServedStoriesTeacher.ModelPath;

    private ModelBundle Teacher => served.Bundle;

    private string BaseUrl => served.BaseUrl;

    public async Task InitializeAsync() => served = await ServedStoriesTeacher.StartAsync();

    public async Task DisposeAsync()
    {
        await served.DisposeAsync();
        scratch.Dispose();
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task The_API_path_gives_each_sampled_token_the_local_teachers_logprob()
    {
        using var scoring = new CompletionScoringTeacher(ModelId, new Uri(BaseUrl), "no-key", TimeSpan.FromSeconds(60));
        var tokenizer = Teacher.Tokenizer;
        var compared = 0;
        var largest = 0.0;
        for (var i = 0; i < Openings.Length; i++)
        {
            // A sequence as an on-policy batch holds it: the prompt through the chat template, then a sampled continuation.
            var prompt = Teacher.EncodePrompt(Teacher.ChatTemplate.Apply([ChatMessage.User(Openings[i])]));
            var sample = Teacher.Generate(prompt, new SamplingParameters { Temperature = 1, MaxTokens = 24, Seed = i });
            int[] ids = [.. prompt, .. sample.Logprobs.Select(t => t.Id!.Value)];
            var (text, spelled) = SampledTokenMatch.TextOf(tokenizer, ids);
            var answer = await scoring.CompleteAsync(new TeacherRequest([ChatMessage.User(text)], new SamplingParameters { MaxTokens = 0, TopLogprobs = 1 }));
            var score = new TeacherTextScore([.. answer.Tokens.Select(t => t.Bytes.Count)], [.. answer.Tokens.Select(t => t.Logprob)]);
            var api = SampledTokenMatch.TeacherLogprobs(tokenizer, ids, prompt.Count, text, spelled, score);

            Assert.Equal(0, api.ChunkedTokens); // the teacher's own samples are its tokenizer's encoding of their text
            var local = TokenScoring.Score(Teacher.Model, tokenizer, ids); // local[t] scores ids[t + 1]
            for (var c = 0; c < api.TeacherLogprobs.Length; c++)
            {
                if (api.TeacherLogprobs[c] is not { } logprob)
                {
                    Assert.Contains(ids[prompt.Count + c], tokenizer.StopIds); // only a stop token goes unscored
                    continue;
                }
                var expected = local[prompt.Count + c - 1].Logprob;
                largest = Math.Max(largest, Math.Abs(expected - logprob));
                Assert.Equal(expected, logprob, 1e-4);
                compared++;
            }
        }
        output.WriteLine($"{compared} sampled tokens compared; largest |API − local| {largest:G3}");
        Assert.True(compared > 100, $"only {compared} tokens compared");
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task A_killed_run_resumes_without_sending_answered_scoring_requests_again()
    {
        var data = await DatasetAsync();
        // The reference: the same run, never interrupted, with its own ledger.
        var reference = await TrainAsync(Config(data, "reference", steps: 8));
        var sentUninterrupted = served.Server.Stats.Completions;
        Assert.Equal(8, reference.Result.Steps);

        // Cancelled once step 5 is done; its own resume state is then removed, as if the process had been killed before
        // writing it, so the resumed run redoes step 5 from the step-4 checkpoint, asking for the same scores again.
        var killedConfig = Config(data, "killed", steps: 8);
        using var cancel = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            TrainAsync(killedConfig, new CancelAt(5, cancel), cancel.Token));
        var states = ResumeStateStore.List(killedConfig.Out);
        DeleteState(states[^1]);
        Assert.Equal(4, ResumeStateStore.ReadState(ResumeStateStore.FindLatest(killedConfig.Out)!).Step);
        var sentBeforeResume = served.Server.Stats.Completions - sentUninterrupted;

        var resumed = await TrainAsync(killedConfig with { Resume = true });
        var sentKilledAndResumed = served.Server.Stats.Completions - sentUninterrupted;
        output.WriteLine($"server answered {sentUninterrupted} scoring requests for the uninterrupted run; {sentBeforeResume} before the kill and {sentKilledAndResumed} in all for the killed and resumed one");

        Assert.Equal(8, resumed.Result.Steps);
        Assert.Equal(sentUninterrupted, sentKilledAndResumed);
        var entries = await LedgerEntriesAsync(Path.Combine(killedConfig.Out, DatasetFolder.LedgerFile));
        Assert.Equal(sentKilledAndResumed, entries.Count);
        Assert.All(entries, e => Assert.Equal(1, e.Sends));
        Assert.Equal(reference.Result.FinalLoss, resumed.Result.FinalLoss); // the redone step drew and was scored exactly as before
    }

    [Fact]
    public async Task An_endpoint_without_prompt_logprobs_is_refused_in_one_line_before_training()
    {
        var data = await DatasetAsync(rows: 4);
        await using var chatOnly = await FakeOpenAiServer.StartAsync();
        var outDir = scratch.File("refused");
        var (exit, _, error) = await Distill.RunAsync("train", "--data", data, "--out", outDir, "--mode", "onpolicy", "--teacher", "openai:gpt-test",
            "--base-url", chatOnly.BaseUrl.ToString(), "--tokenizer", SharedTestData.Get("stories260K/tok512.bin"), "--steps", "2", "--batch-size", "2", "--seq-len", "96");
        Assert.Equal(2, exit);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(chatOnly.BaseUrl.ToString().TrimEnd('/') + "/completions", line, StringComparison.Ordinal);
        Assert.Contains("prompt logprobs", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(outDir, "resume")));

        var (divergenceExit, _, divergenceError) = await Distill.RunAsync("train", "--data", data, "--out", scratch.File("jsd"), "--mode", "onpolicy", "--teacher", "openai:" + ModelId,
            "--base-url", BaseUrl, "--tokenizer", SharedTestData.Get("stories260K/tok512.bin"), "--divergence", "jsd");
        Assert.Equal(2, divergenceExit);
        Assert.Contains("--divergence", Assert.Single(divergenceError.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--price-input", "--price-input", "-1", "--price-output", "1")]
    [InlineData("--price-output", "--price-input", "1", "--price-output", "-0.5")]
    [InlineData("--price-output", "--price-input", "1")]
    [InlineData("no-such-prices.json", "--prices", "no-such-prices.json")]
    [InlineData("--budget-usd", "--budget-usd", "-1", "--price-input", "1", "--price-output", "1")]
    [InlineData("--budget-usd", "--budget-usd", "1")]
    public async Task A_bad_price_for_the_API_teacher_is_one_line_naming_its_option_or_file(string named, params string[] prices)
    {
        var data = await DatasetAsync(rows: 4);
        var outDir = scratch.File("bad-price-" + Guid.NewGuid().ToString("N"));
        var (exit, _, error) = await Distill.RunAsync(["train", "--data", data, "--out", outDir, "--mode", "onpolicy", "--teacher", "openai:" + ModelId,
            "--base-url", BaseUrl, "--tokenizer", SharedTestData.Get("stories260K/tok512.bin"), "--steps", "2", .. prices]);
        Assert.Equal(2, exit);
        Assert.StartsWith("distill: " + named, Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(outDir, "resume")));

        // A price with no API teacher to pay is refused too, naming the option.
        var (localExit, _, localError) = await Distill.RunAsync("train", "--data", data, "--out", scratch.File("local-price"), "--mode", "sft",
            "--tokenizer", SharedTestData.Get("stories260K/tok512.bin"), "--steps", "2", "--price-input", "1", "--price-output", "1");
        Assert.Equal(2, localExit);
        Assert.StartsWith("distill: --price-input", Assert.Single(localError.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task A_short_run_with_the_API_teacher_trains_and_its_ledger_counts_and_prices_the_scoring_requests()
    {
        var data = await DatasetAsync();
        var outDir = scratch.File("student");
        var before = served.Server.Stats.Completions;
        var (exit, stdout, error) = await Distill.RunAsync("train", "--data", data, "--out", outDir, "--mode", "onpolicy", "--teacher", "openai:" + ModelId,
            "--base-url", BaseUrl, "--api-key-env", "DISTILLERY_TEST_NO_KEY", "--tokenizer", SharedTestData.Get("stories260K/tok512.bin"),
            "--steps", "6", "--batch-size", "4", "--seq-len", "64", "--max-new-tokens", "12", "--lambda", "1", "--lr", "0.005", "--eval-every", "6",
            "--price-input", "2.5", "--price-output", "10");
        Assert.True(exit == 0, error);
        var sent = served.Server.Stats.Completions - before;
        output.WriteLine(stdout);
        output.WriteLine($"server answered {sent} scoring requests");

        Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")));
        var lineage = (await LineageFile.ReadAsync(outDir))!;
        Assert.True(lineage.Metrics!.FinalTrainLoss is { } loss && double.IsFinite(loss), $"final loss {lineage.Metrics.FinalTrainLoss}");
        Assert.Contains("samples scored by openai:" + ModelId, lineage.Losses, StringComparison.Ordinal);
        // λ = 1: every step's 4 samples are scored, plus the probe before training (identical samples share one request).
        var entries = await LedgerEntriesAsync(Path.Combine(outDir, DatasetFolder.LedgerFile));
        Assert.Equal(sent, entries.Count);
        Assert.InRange(sent, 2, 6 * 4 + 1);
        Assert.All(entries, e =>
        {
            Assert.Equal(BaseUrl + "/completions", e.Endpoint);
            Assert.Equal(LedgerStatus.Answered, e.Status);
            Assert.True(e.Usage.PromptTokens > 0);
        });

        // The lineage names the scoring and its ledger; the audit counts the requests from that ledger.
        var scoring = lineage.OnPolicyScoring!;
        Assert.Equal(BaseUrl + "/completions", scoring.Endpoint);
        Assert.Equal(Path.GetFullPath(Path.Combine(outDir, DatasetFolder.LedgerFile)), scoring.Ledger);
        Assert.True(scoring.Sequences > 0 && scoring.OneToOneTokens > 0, scoring.ToString());
        var (auditExit, audit, auditError) = await Distill.RunAsync("audit", outDir, "--json");
        Assert.True(auditExit == 0, auditError);
        var line = System.Text.Json.Nodes.JsonNode.Parse(audit)!["on_policy_scoring"]!;
        Assert.Equal(sent, (int)line["requests"]!);
        var promptTokens = entries.Sum(e => (long)e.Usage.PromptTokens);
        Assert.Equal(promptTokens, (long)line["prompt_tokens"]!);
        // Scoring asks no completion tokens, so the cost is the prompt tokens at $2.50 per million.
        Assert.All(entries, e => Assert.Equal(0, e.Usage.CompletionTokens));
        Assert.True((decimal)line["cost_usd"]! > 0);
        Assert.Equal(promptTokens * 2.5m / 1_000_000m, (decimal)line["cost_usd"]!);
        output.WriteLine($"audit: {line.ToJsonString()}; lineage: {scoring}");
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task A_run_stops_at_its_budget_and_goes_on_with_a_larger_one_without_paying_twice()
    {
        var data = await DatasetAsync();
        var outDir = scratch.File("budget");
        // $1,000 per million prompt tokens: each scoring request of about 50 tokens costs about $0.05, a step of 4 about $0.20.
        string[] run = ["train", "--data", data, "--out", outDir, "--mode", "onpolicy", "--teacher", "openai:" + ModelId, "--base-url", BaseUrl,
            "--tokenizer", SharedTestData.Get("stories260K/tok512.bin"), "--steps", "6", "--batch-size", "4", "--seq-len", "64", "--max-new-tokens", "12",
            "--lambda", "1", "--checkpoint-every", "1", "--seed", "3", "--price-input", "1000", "--price-output", "1000", "--resume"];
        var before = served.Server.Stats.Completions;
        var (exit, _, error) = await Distill.RunAsync([.. run, "--budget-usd", "0.3"]);
        Assert.NotEqual(0, exit);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--budget-usd", line, StringComparison.Ordinal);
        var stopped = await LedgerEntriesAsync(Path.Combine(outDir, DatasetFolder.LedgerFile));
        var spent = stopped.Sum(e => e.CostUsd);
        output.WriteLine($"{line}\nstopped after {stopped.Count} requests costing ${spent}");
        Assert.InRange(spent, 0.3m, 0.3m + 0.5m); // it went past the budget by at most its last batch
        Assert.InRange(stopped.Count, 2, 6 * 4);

        var (resumedExit, _, resumedError) = await Distill.RunAsync([.. run, "--budget-usd", "100"]);
        Assert.True(resumedExit == 0, resumedError);
        Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")));
        var entries = await LedgerEntriesAsync(Path.Combine(outDir, DatasetFolder.LedgerFile));
        Assert.All(entries, e => Assert.Equal(1, e.Sends));
        Assert.Equal(served.Server.Stats.Completions - before, entries.Count); // nothing answered before the stop was sent again
        Assert.True(entries.Count > stopped.Count);
    }

    private LmTrainingConfig Config(string data, string name, int steps) => new()
    {
        Data = data,
        Out = scratch.File(name),
        Mode = LmMode.Onpolicy,
        Teacher = "openai:" + ModelId,
        Tokenizer = SharedTestData.Get("stories260K/tok512.bin"),
        StudentPreset = "tiny",
        Steps = steps,
        BatchSize = 4,
        LearningRate = 5e-3,
        Warmup = 2,
        SeqLen = 64,
        MaxNewTokens = 12,
        Lambda = 1,
        EvalFraction = 0.2,
        EvalEvery = 0,
        CheckpointEvery = 2,
        Seed = 3,
    };

    private Task<Training.Language.LmTrainingReport> TrainAsync(LmTrainingConfig config, IProgress<PipelineProgress>? progress = null, CancellationToken cancellationToken = default) =>
        DistilleryPipeline.TrainAsync(new TrainOptions { Config = config, TeacherSettings = new TeacherSettings { BaseUrl = BaseUrl } }, progress, cancellationToken);

    private static void DeleteState(string path)
    {
        if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        else File.Delete(path);
    }

    private static async Task<IReadOnlyList<LedgerEntry>> LedgerEntriesAsync(string path)
    {
        await using var ledger = await TeacherLedger.OpenAsync(path);
        return await ledger.ReadAllAsync();
    }

    /// <summary>Story openings answered by the local teacher (top-3 logprobs), as <c>distill generate</c> writes them.</summary>
    private async Task<string> DatasetAsync(int rows = 12)
    {
        var dir = scratch.File($"data-{rows}");
        if (Directory.Exists(dir)) return dir;
        var list = new List<DatasetRow>();
        for (var i = 0; i < rows; i++)
        {
            var messages = new List<ChatMessage> { ChatMessage.User(Openings[i % Openings.Length]) };
            var sampling = new SamplingParameters { Temperature = 1, MaxTokens = 20, Seed = i, TopLogprobs = 3 };
            var result = Teacher.GenerateChat(messages, sampling);
            list.Add(new DatasetRow([.. messages, ChatMessage.Assistant(result.Text)], new RowProvenance
            {
                PromptId = $"p{i}",
                Teacher = new RowTeacher { Provider = "openai", Model = ModelId, RequestedModel = ModelId, Endpoint = BaseUrl, Sampling = sampling },
                FinishReason = result.FinishReasonText,
                Tokens = result.Logprobs,
                Usage = new TokenUsage(result.PromptTokens, result.CompletionTokens),
                RequestHash = $"h{i}",
            }));
        }
        Directory.CreateDirectory(dir);
        await using var writer = await DatasetWriter.OpenAsync(dir);
        await writer.RewriteAsync(list);
        await writer.WriteManifestAsync(new DatasetManifest { Teachers = TeacherContributions.FromRows(list) });
        return dir;
    }

    /// <summary>Cancels the run as soon as it reports step <paramref name="step"/> done (synchronously, on the trainer's thread, before the next step).</summary>
    private sealed class CancelAt(int step, CancellationTokenSource cancel) : IProgress<PipelineProgress>
    {
        public void Report(PipelineProgress value)
        {
            if (value.Stage == PipelineStage.Train && value.Completed >= step) cancel.Cancel();
        }
    }
}
