using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Core.Provenance;
using Distillery.Models.Checkpoints;
using Distillery.Models.Loading;
using Distillery.Models.Lora;
using Distillery.Models.Tokenizers;
using Distillery.Training.Language;
using Distillery.Training.Language.Configuration;
using Distillery.Training.Language.Objectives;
using Distillery.Training.Trainer;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Distillery.Training.Tests.Language;

[Trait("Speed", "Slow")]
[Collection(SerialTorchCollection.Name)]
public sealed class LoraTrainingTests(StoriesDatasetFixture fixture, ITestOutputHelper output) : IClassFixture<StoriesDatasetFixture>
{
    private static readonly LoraSettings Lora = new() { Rank = 4, Alpha = 8, Targets = ["q", "k", "v", "o", "gate", "up", "down"] };

    /// <summary>A warm-start student: the tiny preset with the stories tokenizer, saved as a model folder.</summary>
    private async Task<string> BaseAsync(string name, long seed = 5)
    {
        var dir = Path.Combine(fixture.Root, name);
        var tokenizer = await TokenizerLoader.LoadAsync(StoriesData.TokenizerPath);
        using var bundle = ModelBundle.CreateRandom(StudentPresets.Get("tiny", tokenizer.VocabSize), seed, tokenizer, ChatTemplate.Plain);
        await bundle.SaveAsync(dir);
        return "checkpoint:" + dir;
    }

    private LmTrainingConfig Config(string name, LmMode mode, string student, int steps) =>
        fixture.Config(name, mode, steps) with { Student = student, Lora = Lora, StudentPreset = "tiny", Tokenizer = null };

    private static double[] Losses(string dir) => File.ReadAllLines(Path.Combine(dir, "metrics.jsonl"))
        .Select(l => JsonNode.Parse(l)!["loss"]).Where(n => n is not null).Select(n => n!.GetValue<double>()).ToArray();

    [Theory]
    [InlineData(LmMode.Sft)]
    [InlineData(LmMode.Topk)]
    [InlineData(LmMode.Whitebox)]
    [InlineData(LmMode.Onpolicy)]
    public async Task EachModeTrainsOnlyTheAdaptersAndWritesAnAdapterFolderThatLoadsMerged(LmMode mode)
    {
        var student = await BaseAsync($"lora-base-{mode}");
        using var before = await ModelLoader.LoadAsync(student);
        var baseSha = WeightsHash.Of(before.Model);
        var config = Config($"lora-{mode}", mode, student, steps: 4) with { Lambda = 0.5 };
        var report = await LmTraining.RunAsync(config);

        var lora = report.Lineage.Lora!;
        output.WriteLine($"{mode}: losses {string.Join(", ", Losses(config.Out).Select(l => l.ToString("F4")))}; {lora.TrainableParameters} trainable of {report.StudentParameters}");
        Assert.Equal((4, 8.0, baseSha), (lora.Rank, lora.Alpha, lora.BaseModelSha256));
        Assert.Equal(Lora.Targets, lora.Targets);
        var c = before.Config;
        long d = c.HiddenSize, q = c.NumAttentionHeads * c.HeadDim, kv = c.KeyValueHeads * c.HeadDim, ff = c.IntermediateSize;
        Assert.Equal(c.NumHiddenLayers * 4L * ((d + q) + 2 * (d + kv) + (q + d) + 3 * (d + ff)), lora.TrainableParameters);
        Assert.Equal(lora.TrainableParameters, (await LineageFile.ReadAsync(config.Out))!.Lora!.TrainableParameters);
        Assert.True(File.Exists(Path.Combine(config.Out, LoraFolder.WeightsFile)));
        Assert.False(File.Exists(Path.Combine(config.Out, CheckpointFolder.WeightsFile)));

        // The resume state holds the adapters alone: it loads strictly into a module of just them.
        using var probe = await ModelLoader.LoadAsync(student);
        Assert.Equal(baseSha, WeightsHash.Of(probe.Model)); // training never wrote to the base
        using var adapters = LoraAdapters.Attach(probe.Model, Lora, seed: 0);
        new LoraTrainedModules(adapters, null).load(Path.Combine(ResumeStateStore.FindLatest(config.Out)!, ResumeStateStore.ModelFile));
        Assert.True(adapters.parameters().Any(p => p.abs().max().item<float>() > 0 && p.shape[1] == Lora.Rank), "B did not move");

        using var merged = await ModelLoader.LoadAsync("checkpoint:" + config.Out);
        using var ids = tensor(new long[] { 1, 20, 30, 40, 50 }, [1, 5]);
        using var expected = probe.Model.forward(ids);
        Assert.True(merged.Model.forward(ids).sub(expected).abs().max().item<float>() < 1e-5, "the adapter folder does not load as base + adapters");
    }

    /// <summary>Cancels after a chosen step: a real interruption between steps.</summary>
    private sealed class CancelAt(int step, CancellationTokenSource cts) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Step == step) cts.Cancel();
        }
    }

    [Fact]
    public async Task AKilledLoraRunResumesToTheStraightRunsLossesAndAdapters()
    {
        var student = await BaseAsync("lora-resume-base");
        var straight = Config("lora-resume-straight", LmMode.Whitebox, student, steps: 8) with { EvalEvery = 0, GradAccum = 2 };
        await LmTraining.RunAsync(straight);

        var interrupted = straight with { Out = Path.Combine(fixture.Root, "lora-resume-interrupted") };
        using (var cts = new CancellationTokenSource())
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => LmTraining.RunAsync(interrupted, new CancelAt(4, cts), cts.Token));
        Assert.EndsWith("step-00000004", ResumeStateStore.FindLatest(interrupted.Out));
        var resumed = await LmTraining.RunAsync(interrupted with { Resume = true });
        Assert.Equal(4, resumed.Result.ResumedFromStep);

        var a = Losses(straight.Out);
        var b = Losses(interrupted.Out);
        Assert.Equal(8, b.Length);
        output.WriteLine($"final loss straight {a[^1]:R}, resumed {b[^1]:R}");
        for (var i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-6, $"step {i + 1}: {a[i]} vs {b[i]}");
        var x = SafeTensors.Open(Path.Combine(straight.Out, LoraFolder.WeightsFile));
        var y = SafeTensors.Open(Path.Combine(interrupted.Out, LoraFolder.WeightsFile));
        foreach (var name in x.Names)
        {
            using var p = x.Read(name)!;
            using var q = y.Read(name)!;
            Assert.True(p.sub(q).abs().max().item<float>() <= 1e-6, name);
        }
    }

    [Fact]
    public async Task ResumingOnAChangedBaseOrOtherSettingsIsAOneLineError()
    {
        var student = await BaseAsync("lora-changed-base");
        var config = Config("lora-changed", LmMode.Sft, student, steps: 2) with { EvalEvery = 0 };
        await LmTraining.RunAsync(config);

        var otherRank = await Assert.ThrowsAsync<InputException>(() => LmTraining.RunAsync(config with { Steps = 4, Resume = true, Lora = Lora with { Rank = 2 } }));
        Assert.StartsWith("--lora-rank: the run in", otherRank.Message);
        await BaseAsync("lora-changed-base", seed: 6); // the same folder, other weights
        var changed = await Assert.ThrowsAsync<InputException>(() => LmTraining.RunAsync(config with { Steps = 4, Resume = true }));
        Assert.StartsWith("--student: the base model checkpoint:", changed.Message);
        Assert.All(new[] { otherRank, changed }, e => Assert.Single(e.Message.Split('\n')));
    }

    [Fact]
    public void LoraWithoutAStudentIsAnError()
    {
        var error = Assert.Throws<InputException>(() => (fixture.Config("lora-new", LmMode.Sft, 2) with { Lora = Lora }).Validate());
        Assert.StartsWith("--lora-rank: LoRA adapts an existing model", error.Message);
    }
}
