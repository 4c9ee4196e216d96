using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Provenance;
using Distillery.Models.Checkpoints;
using Distillery.Models.Llama;
using Distillery.Models.Loading;
using Distillery.Models.Runtime;
using Distillery.TestSupport.Files;
using Distillery.Training.Language;
using Distillery.Training.Language.Configuration;
using Distillery.Training.Language.Objectives;
using Distillery.Training.Trainer;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Distillery.Training.Tests.Language;

/// <summary>A small dataset written once by the real stories260K teacher, shared by the end-to-end tests.</summary>
public sealed class StoriesDatasetFixture : IDisposable
{
    public StoriesDatasetFixture()
    {
        TorchRuntime.EnsureLoaded();
        Root = scratch.Path;
        Dataset = StoriesData.WriteAsync(Path.Combine(Root, "dataset"), rows: 32, maxTokens: 24, topLogprobs: 5).GetAwaiter().GetResult();
    }

    private readonly ScratchFolder scratch = new("lm-training");

    public string Root { get; }

    public string Dataset { get; }

    /// <summary>A small run on the dataset: the tiny student, 4 rows a batch, one evaluation at the end; a local teacher where the mode needs one.</summary>
    public LmTrainingConfig Config(string name, LmMode mode, int steps) => new()
    {
        Data = Dataset,
        Out = Path.Combine(Root, name),
        Mode = mode,
        Teacher = mode is LmMode.Whitebox or LmMode.Onpolicy ? StoriesData.TeacherSpec : null,
        Tokenizer = StoriesData.TokenizerPath,
        ChatTemplate = "plain",
        StudentPreset = "tiny",
        Steps = steps,
        BatchSize = 4,
        LearningRate = 1e-2,
        MinLearningRate = 1e-3,
        Warmup = 2,
        SeqLen = 48,
        EvalFraction = 0.2,
        EvalEvery = steps,
        CheckpointEvery = 0,
        MaxNewTokens = 16,
        Seed = 11,
    };

    public void Dispose() => scratch.Dispose();
}

[Trait("Speed", "Slow")]
[Collection(SerialTorchCollection.Name)]
public sealed class LmTrainingTests(StoriesDatasetFixture fixture, ITestOutputHelper output) : IClassFixture<StoriesDatasetFixture>
{
    private LmTrainingConfig Config(string name, LmMode mode, int steps = 25) => fixture.Config(name, mode, steps);

    private static double[] Losses(string dir) => File.ReadAllLines(Path.Combine(dir, "metrics.jsonl"))
        .Select(l => JsonNode.Parse(l)!["loss"]).Where(n => n is not null).Select(n => n!.GetValue<double>()).ToArray();

    [Theory]
    [InlineData(LmMode.Sft)]
    [InlineData(LmMode.Topk)]
    [InlineData(LmMode.Whitebox)]
    [InlineData(LmMode.Onpolicy)]
    public async Task EachModeTrainsEndToEndLowersItsLossAndWritesALoadableStudent(LmMode mode)
    {
        var config = Config($"mode-{mode}", mode) with { HiddenWeight = mode == LmMode.Whitebox ? 0.5 : 0, Lambda = 0.5 };
        var report = await LmTraining.RunAsync(config);
        var losses = Losses(config.Out);
        Assert.Equal(25, losses.Length);
        output.WriteLine($"{mode}: first loss {losses[0]:F4}, last five {losses[^5..].Average():F4}, held-out CE {report.EvalCrossEntropy:F4}, KL {report.EvalKlToTeacher}");
        if (mode != LmMode.Onpolicy) Assert.True(losses[^5..].Average() < 0.8 * losses[0], $"{mode} loss went {losses[0]} → {losses[^5..].Average()}");
        // A fresh student (weights N(0, 0.02)) predicts nearly uniformly: cross-entropy ≈ ln 512 = 6.24 nats.
        Assert.True(report.EvalCrossEntropy < Math.Log(512) - 1.0, $"held-out CE {report.EvalCrossEntropy}");

        using var student = await ModelLoader.LoadAsync("checkpoint:" + config.Out);
        Assert.Equal(32, student.Config.HiddenSize);
        var lineage = (await LineageFile.ReadAsync(config.Out))!;
        Assert.Equal(25, lineage.Steps);
        var teacher = lineage.Teachers.Single();
        Assert.Equal("llama2c", teacher.Provider);
        Assert.True(teacher.TrainingTokens > 0);
        Assert.Equal(lineage.TrainingTokens, teacher.TrainingTokens);
        Assert.Equal(64, lineage.Datasets[0].ManifestSha256!.Length);
        Assert.Equal(mode.ToString().ToLowerInvariant(), lineage.Mode);
        Assert.Equal(mode.ToString().ToLowerInvariant(), lineage.Config!["mode"]!.GetValue<string>());
        var text = student.Generate("", new Distillery.Core.Chat.SamplingParameters { Temperature = 0, MaxTokens = 8 }).Text;
        Assert.False(string.IsNullOrEmpty(text));
    }

    [Fact]
    public async Task HiddenStateProjectionIsTrainedAndCheckpointed()
    {
        var config = Config("hidden", LmMode.Whitebox, steps: 6) with { HiddenWeight = 1.0, EvalEvery = 0 };
        await LmTraining.RunAsync(config);
        var checkpoint = ResumeStateStore.FindLatest(config.Out)!;
        using var studentConfig = new LlamaForCausalLM(await LlamaConfig.LoadAsync(Path.Combine(config.Out, LmTraining.StudentConfigFile)));
        manual_seed(config.Seed);
        var fresh = new Distillery.Training.Losses.HiddenStateProjection(32, 64);
        var initial = fresh.parameters().Select(p => p.detach().clone()).ToList();
        var restored = new DistillationStudent(studentConfig, fresh);
        restored.Settle();
        restored.load(Path.Combine(checkpoint, ResumeStateStore.ModelFile));
        var after = restored.Projection!.parameters().ToList();
        Assert.Equal(2, after.Count);
        Assert.True(after.Zip(initial).Any(pair => pair.First.sub(pair.Second).abs().max().item<float>() > 1e-4), "the projection did not move");
    }

    /// <summary>Reports progress synchronously and cancels after a chosen step: a real interruption between steps.</summary>
    private sealed class CancelAt(int step, CancellationTokenSource cts) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Step == step) cts.Cancel();
        }
    }

    [Fact]
    public async Task InterruptedAndResumedRunMatchesAStraightOne()
    {
        // On-policy with λ = 0.5 exercises the most state: the optimiser, the schedule, the data position and the sampling seed.
        var straight = Config("resume-straight", LmMode.Onpolicy, steps: 8) with { Lambda = 0.5, EvalEvery = 0, GradAccum = 2 };
        await LmTraining.RunAsync(straight);

        var interrupted = straight with { Out = Path.Combine(fixture.Root, "resume-interrupted") };
        using (var cts = new CancellationTokenSource())
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => LmTraining.RunAsync(interrupted, new CancelAt(4, cts), cts.Token));
        Assert.EndsWith("step-00000004", ResumeStateStore.FindLatest(interrupted.Out));
        var again = await Assert.ThrowsAsync<InputException>(() => LmTraining.RunAsync(interrupted));
        Assert.Contains("--resume", again.Message);
        var resumed = await LmTraining.RunAsync(interrupted with { Resume = true });
        Assert.Equal(4, resumed.Result.ResumedFromStep);

        var a = Losses(straight.Out);
        var b = Losses(interrupted.Out);
        Assert.Equal(8, b.Length);
        for (var i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-6, $"step {i + 1}: {a[i]} vs {b[i]}");
        using var x = await CheckpointFolder.LoadAsync(straight.Out);
        using var y = await CheckpointFolder.LoadAsync(interrupted.Out);
        var yParams = y.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in x.named_parameters())
            Assert.True(p.sub(yParams[name]).abs().max().item<float>() <= 1e-6, name);
    }

    [Fact]
    public async Task TrainingRefusesADatasetWhoseManifestRecordsADeniedTeacher()
    {
        var dir = Path.Combine(fixture.Root, "denied");
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(fixture.Dataset).Where(f => Path.GetFileName(f) != DatasetFolder.ManifestFile))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        var manifest = (await DatasetReader.ReadManifestAsync(fixture.Dataset))! with
        {
            Policy = [new PolicyRecord("llama2c:stories260K", "deny", "policy.json rules[0] (llama2c:*)", "no distillation allowed")],
        };
        await DatasetWriter.WriteManifestAsync(dir, manifest);
        var error = await Assert.ThrowsAsync<InputException>(() => LmTraining.RunAsync(Config("denied-out", LmMode.Sft) with { Data = dir }));
        Assert.Contains("denied teacher llama2c:stories260K", error.Message);
        Assert.Single(error.Message.Split('\n'));
        Assert.False(Directory.Exists(Path.Combine(fixture.Root, "denied-out")));
    }

    [Fact]
    public async Task ResumingARunWhoseStudentConfigIsMissingIsAnErrorNotARebuildFromFlags()
    {
        var config = Config("missing-student-config", LmMode.Sft, steps: 2) with { EvalEvery = 0 };
        await LmTraining.RunAsync(config);
        File.Delete(Path.Combine(config.Out, LmTraining.StudentConfigFile));

        var error = await Assert.ThrowsAsync<InputException>(() => LmTraining.RunAsync(config with { Steps = 4, Resume = true }));
        Assert.StartsWith(Path.Combine(config.Out, LmTraining.StudentConfigFile) + ":", error.Message);
        Assert.Single(error.Message.Split('\n'));
    }
}
