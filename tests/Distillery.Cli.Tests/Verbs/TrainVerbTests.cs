using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Provenance;
using Distillery.Models.Checkpoints;
using Distillery.Models.Loading;
using Distillery.TestSupport.Cli;
using Distillery.TestSupport.Files;
using Distillery.Training.Trainer;

namespace Distillery.Cli.Tests.Verbs;

public sealed class TrainVerbTests : IDisposable
{
    private readonly ScratchFolder scratch = new("train-verb");

    private string root => scratch.Path;

    public void Dispose() => scratch.Dispose();

    private static string Teacher => "llama2c:" + SharedTestData.TryGet("stories260K/stories260K.bin");

    /// <summary>A small dataset of real stories260K samples with their top-k logprobs.</summary>
    private async Task<string> DatasetAsync(int rows = 8)
    {
        var dir = Path.Combine(root, "data");
        using var teacher = await ModelLoader.LoadAsync(Teacher);
        var list = new List<DatasetRow>();
        for (var i = 0; i < rows; i++)
        {
            var sampling = new SamplingParameters { Temperature = 1, MaxTokens = 20, Seed = i, TopLogprobs = 3 };
            var result = teacher.GenerateChat([ChatMessage.User("")], sampling);
            list.Add(new DatasetRow([ChatMessage.User(""), ChatMessage.Assistant(result.Text)], new RowProvenance
            {
                PromptId = $"p{i}",
                Teacher = new RowTeacher { Provider = "llama2c", Model = "stories260K", RequestedModel = "stories260K", Endpoint = Teacher, Sampling = sampling },
                FinishReason = result.FinishReasonText,
                Tokens = result.Logprobs,
                RequestHash = $"h{i}",
            }));
        }
        Directory.CreateDirectory(dir);
        await using var writer = await DatasetWriter.OpenAsync(dir);
        await writer.RewriteAsync(list);
        await writer.WriteManifestAsync(new DatasetManifest { Teachers = TeacherContributions.FromRows(list) });
        return dir;
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task TrainsAStudentThatSampleCanUseAndFlagsOverrideTheConfigFile()
    {
        var data = await DatasetAsync();
        var config = Path.Combine(root, "train.json");
        await File.WriteAllTextAsync(config, "{\"mode\":\"whitebox\",\"steps\":500,\"batch_size\":4,\"lr\":0.01,\"seq_len\":32,\"eval_every\":0}");
        var outDir = Path.Combine(root, "student");
        var result = await Distill.RunAsync("train", "--config", config, "--data", data, "--out", outDir, "--teacher", Teacher, "--steps", "4", "--student-preset", "tiny");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("whitebox step 4/4", result.Output);
        Assert.Contains("tok/s", result.Output);
        Assert.Contains("held-out KL to teacher", result.Output);
        var lineage = (await LineageFile.ReadAsync(outDir))!;
        Assert.Equal(4, lineage.Steps);
        Assert.Equal(0.01, lineage.Config!["lr"]!.GetValue<double>());
        Assert.Equal(Teacher, lineage.LocalTeacher!.Spec);

        var sample = await Distill.RunAsync("sample", "--model", "checkpoint:" + outDir, "--max-tokens", "5", "--seed", "1");
        Assert.True(sample.ExitCode == 0, sample.Error);
        Assert.False(string.IsNullOrWhiteSpace(sample.Output));

        var again = await Distill.RunAsync("train", "--config", config, "--data", data, "--out", outDir, "--teacher", Teacher, "--steps", "4");
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("--resume", again.Error);
        var resumed = await Distill.RunAsync("train", "--config", config, "--data", data, "--out", outDir, "--teacher", Teacher, "--steps", "6", "--resume");
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        Assert.Contains("resumed from 4", resumed.Output);
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task KilledMidRunThenResumedEndsWithTheStraightRunsLossesAndWeights()
    {
        // On-policy with λ = 0.5 carries the most state across the kill: weights, AdamW moments, schedule, data position,
        // the split and the sampling RNG. The real distill process is killed (SIGKILL), not cancelled.
        const int steps = 40;
        var data = await DatasetAsync();
        string[] Args(string outDir, bool resume) =>
        [
            "train", "--data", data, "--out", outDir, "--teacher", Teacher, "--mode", "onpolicy", "--lambda", "0.5",
            "--student-preset", "tiny", "--steps", steps.ToString(CultureInfo.InvariantCulture), "--batch-size", "2", "--grad-accum", "2",
            "--seq-len", "32", "--eval-every", "0", "--checkpoint-every", (steps / 2).ToString(CultureInfo.InvariantCulture), "--seed", "3",
            .. resume ? new[] { "--resume" } : [],
        ];

        var straight = Path.Combine(root, "straight");
        var (exit, _, error) = await DistillProcess.RunAsync(Args(straight, resume: false));
        Assert.True(exit == 0, error);

        var killed = Path.Combine(root, "killed");
        var half = Path.Combine(ResumeStateStore.Root(killed), "step-" + (steps / 2).ToString("D8", CultureInfo.InvariantCulture));
        using (var child = DistillProcess.Start(Args(killed, resume: false)))
        {
            try
            {
                var watch = Stopwatch.StartNew();
                while (!Directory.Exists(half) && !child.HasExited && watch.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(5);
                Assert.True(Directory.Exists(half), $"no checkpoint at step {steps / 2}: {(child.HasExited ? await child.StandardError.ReadToEndAsync() : "timed out")}");
                Assert.False(child.HasExited, "the run finished before it could be killed");
                child.Kill(); // SIGKILL: no handler runs, nothing is flushed
                await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            }
            finally
            {
                if (!child.HasExited) child.Kill();
            }
        }
        Assert.False(LineageFile.ExistsIn(killed), "the killed run wrote its final model");

        var (resumedExit, _, resumedError) = await DistillProcess.RunAsync(Args(killed, resume: true));
        Assert.True(resumedExit == 0, resumedError);

        var a = Losses(straight);
        var b = Losses(killed);
        Assert.Equal(steps, a.Length);
        Assert.Equal(steps, b.Length);
        for (var i = 0; i < steps; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-6, $"step {i + 1}: {a[i]} vs {b[i]}");
        using var x = await CheckpointFolder.LoadAsync(straight);
        using var y = await CheckpointFolder.LoadAsync(killed);
        var yParams = y.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in x.named_parameters())
            Assert.True(p.sub(yParams[name]).abs().max().item<float>() <= 1e-6, name);
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task DeviceCpuAndAutoTrainExactlyAsTheDefaultRunDoes()
    {
        // White-box: the student, the teacher, the optimiser and the batches all go through the device path.
        var data = await DatasetAsync();
        string[] Args(string outDir) =>
        [
            "train", "--data", data, "--out", outDir, "--teacher", Teacher, "--mode", "whitebox", "--student-preset", "tiny",
            "--steps", "3", "--batch-size", "2", "--seq-len", "32", "--eval-every", "0", "--seed", "5",
        ];
        var runs = new[] { ("default", new string[0]), ("cpu", ["--device", "cpu"]), ("auto", ["--device", "auto"]) };
        double[]? expected = null;
        foreach (var (name, extra) in runs)
        {
            var outDir = Path.Combine(root, "device-" + name);
            var result = await Distill.RunAsync([.. Args(outDir), .. extra]);
            Assert.True(result.ExitCode == 0, result.Error);
            var losses = Losses(outDir);
            Assert.Equal(3, losses.Length);
            if (expected is null) expected = losses;
            else Assert.Equal(expected, losses); // exactly: the same doubles
        }
    }

    private static double[] Losses(string outDir) =>
        File.ReadLines(Path.Combine(outDir, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!)
            .Where(n => n["loss"] is not null).Select(n => n["loss"]!.GetValue<double>()).ToArray();

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task TopKWithADifferentTokenizerTrainsAcrossTokenizersAndRecordsTheMethod()
    {
        var data = await DatasetAsync(rows: 4);
        var outDir = Path.Combine(root, "o");
        var result = await Distill.RunAsync("train", "--data", data, "--out", outDir, "--mode", "topk",
            "--tokenizer", "tiktoken:o200k_base", "--student-config", await StudentConfigAsync(), "--steps", "2", "--eval-every", "0");
        Assert.True(result.ExitCode == 0, result.Error);
        var cross = (await LineageFile.ReadAsync(outDir))!.CrossTokenizer;
        Assert.NotNull(cross);
        Assert.Equal("topk-chunk-starts", cross.Method);
        // Each chunk's first teacher token reaches the loss; prefix groups place nearly all of its top-k mass.
        Assert.InRange(cross.TeacherTokenShare, 0.1, 1.0);
        Assert.InRange(cross.TopKMassShare!.Value, 0.9, 1.0);
    }

    [Fact]
    public async Task TopKOnADatasetWithoutStoredTokensIsAOneLineErrorWithExitCode2()
    {
        var data = await DatasetAsync(rows: 2);
        var rows = await DatasetReader.ReadAllRowsAsync(data);
        await using (var writer = await DatasetWriter.OpenAsync(data))
            await writer.RewriteAsync([.. rows.Select(r => r with { Distillery = r.Distillery! with { Tokens = [] } })]);
        var result = await Distill.RunAsync("train", "--data", data, "--out", Path.Combine(root, "o"), "--mode", "topk",
            "--tokenizer", "tiktoken:o200k_base", "--student-config", await StudentConfigAsync(), "--steps", "2");
        Assert.Equal(2, result.ExitCode);
        Assert.Single(result.Error.Trim().Split('\n'));
        Assert.Contains("no stored token logprobs", result.Error);
    }

    private async Task<string> StudentConfigAsync()
    {
        var path = Path.Combine(root, "student.json");
        await File.WriteAllTextAsync(path, "{\"hidden_size\":8,\"intermediate_size\":16,\"num_hidden_layers\":1,\"num_attention_heads\":2,\"max_position_embeddings\":64}");
        return path;
    }

    [Fact]
    public async Task BadSettingsAreOneLineErrorsNamingTheFlag()
    {
        var noTeacher = await Distill.RunAsync("train", "--data", root, "--out", Path.Combine(root, "x"), "--mode", "whitebox");
        Assert.Equal(2, noTeacher.ExitCode);
        Assert.StartsWith("distill: --teacher:", noTeacher.Error);
        var badMode = await Distill.RunAsync("train", "--data", root, "--out", Path.Combine(root, "x"), "--mode", "magic");
        Assert.Equal(2, badMode.ExitCode);
        Assert.Contains("--mode: 'magic' is not one of sft, topk, whitebox, onpolicy", badMode.Error);
        var noData = await Distill.RunAsync("train", "--data", root, "--out", Path.Combine(root, "x"));
        Assert.Equal(2, noData.ExitCode);
        Assert.Contains("--data:", noData.Error);
        Assert.Single(noData.Error.Trim().Split('\n'));
    }

    [Fact]
    public async Task BadLoraSettingsAreOneLineErrorsWithExitCode2BeforeAnyWork()
    {
        var student = Path.Combine(root, "student");
        var tokenizer = await Distillery.Models.Tokenizers.TokenizerLoader.LoadAsync(SharedTestData.Get("stories260K/tok512.bin"));
        using (var bundle = ModelBundle.CreateRandom(Distillery.Training.Language.Configuration.StudentPresets.Get("tiny", 512), 1, tokenizer)) // ties its head
            await bundle.SaveAsync(student);
        string[] Train(string data, params string[] extra) => ["train", "--data", data, "--out", Path.Combine(root, "lora-out"), "--student", "checkpoint:" + student, .. extra];
        foreach (var (args, expected) in new[]
        {
            (Train(root, "--lora-rank", "0"), "distill: --lora-rank: must be at least 1"),
            (Train(root, "--lora-rank", "4", "--lora-targets", "q,attn"), "distill: --lora-targets: 'attn' is not a target"),
            (Train(root, "--lora-alpha", "16"), "distill: --lora-alpha: applies to LoRA training"),
            (["train", "--data", root, "--out", Path.Combine(root, "lora-out"), "--lora-rank", "4"], "distill: --lora-rank: LoRA adapts an existing model"),
        })
        {
            var result = await Distill.RunAsync(args);
            Assert.Equal(2, result.ExitCode);
            Assert.StartsWith(expected, result.Error);
            Assert.Single(result.Error.Trim().Split('\n'));
        }
        Assert.False(Directory.Exists(Path.Combine(root, "lora-out")));

        // A target the architecture lacks is found when the student loads, before training writes anything.
        var data = await DatasetAsync(rows: 2);
        var lacking = await Distill.RunAsync(Train(data, "--lora-rank", "4", "--lora-targets", "q,lm_head"));
        Assert.Equal(2, lacking.ExitCode);
        Assert.StartsWith("distill: --lora-targets: lm_head:", lacking.Error);
        Assert.Single(lacking.Error.Trim().Split('\n'));
        Assert.False(Directory.Exists(Path.Combine(root, "lora-out")));
    }
}
