using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Metrics;
using Distillery.Models.Loading;
using Distillery.Training.Language;
using Distillery.Training.Language.Configuration;
using Xunit.Abstractions;

namespace Distillery.Training.Tests.Language;

/// <summary>Evaluating a run along the way: snapshots of the student every N steps, and the teacher's tokens each step trained on in metrics.jsonl.</summary>
[Trait("Speed", "Slow")]
[Collection(SerialTorchCollection.Name)]
public sealed class SnapshotAndTeacherTokenTests(StoriesDatasetFixture fixture, ITestOutputHelper output) : IClassFixture<StoriesDatasetFixture>
{
    [Fact]
    public async Task SnapshotsAreLoadableStudentsOfTheirStepAndTheLastIsTheFinalStudent()
    {
        var config = fixture.Config("snapshots", LmMode.Sft, steps: 6) with { SnapshotEvery = 3, EvalEvery = 0 };
        var report = await LmTraining.RunAsync(config);

        var folders = Directory.GetDirectories(Path.Combine(config.Out, "snapshots")).Select(f => new DirectoryInfo(f).Name).Order().ToArray();
        Assert.Equal(["step-00000003", "step-00000006"], folders);
        var last = Path.Combine(config.Out, "snapshots", "step-00000006");
        Assert.Equal(File.ReadAllBytes(Path.Combine(report.ModelDirectory, "model.safetensors")), File.ReadAllBytes(Path.Combine(last, "model.safetensors")));
        var middle = Path.Combine(config.Out, "snapshots", "step-00000003");
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(last, "model.safetensors")), File.ReadAllBytes(Path.Combine(middle, "model.safetensors")));
        using var loaded = await ModelLoader.LoadAsync("checkpoint:" + middle);
        Assert.Equal(report.StudentParameters, loaded.Model.ParameterCount);
    }

    [Fact]
    public async Task ADatasetStepCountsItsCompletionTokensAndAnOnPolicyStepItsSampledOnes()
    {
        var sft = fixture.Config("tokens-sft", LmMode.Sft, steps: 3);
        await LmTraining.RunAsync(sft);
        var sftSteps = MetricsFile.Read(MetricsFile.PathIn(sft.Out)).Where(r => r.Loss is not null).ToList();
        Assert.Equal(3, sftSteps.Count);
        Assert.All(sftSteps, r => Assert.Equal(r.Positions, r.TeacherTokens));

        // λ 1: every batch is the student's own samples, at most MaxNewTokens per row, not the dataset's completions.
        var onPolicy = fixture.Config("tokens-onpolicy", LmMode.Onpolicy, steps: 3) with { Lambda = 1, MaxNewTokens = 5 };
        await LmTraining.RunAsync(onPolicy);
        var steps = MetricsFile.Read(MetricsFile.PathIn(onPolicy.Out)).Where(r => r.Loss is not null).ToList();
        output.WriteLine(string.Join("; ", steps.Select(r => $"step {r.Step}: {r.Positions} dataset positions, {r.TeacherTokens} teacher tokens")));
        Assert.All(steps, r => Assert.InRange(r.TeacherTokens!.Value, 1, onPolicy.BatchSize * onPolicy.MaxNewTokens));
        Assert.Contains(steps, r => r.TeacherTokens != r.Positions);
    }
}
