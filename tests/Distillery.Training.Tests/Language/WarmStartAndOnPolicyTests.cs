using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Metrics;
using Distillery.Core.Provenance;
using Distillery.Training.Language;
using Distillery.Training.Language.Configuration;
using Distillery.Training.Language.Objectives;
using Distillery.Training.Trainer;
using Xunit.Abstractions;

namespace Distillery.Training.Tests.Language;

/// <summary>Warm starts in every mode and on-policy distillation from a supervised start, end to end on the real stories260K teacher.</summary>
[Trait("Speed", "Slow")]
[Collection(SerialTorchCollection.Name)]
public sealed class WarmStartAndOnPolicyTests(StoriesDatasetFixture fixture, ITestOutputHelper output) : IClassFixture<StoriesDatasetFixture>
{
    private LmTrainingConfig Config(string name, LmMode mode, int steps) =>
        fixture.Config(name, mode, steps) with { Teacher = StoriesData.TeacherSpec, MaxNewTokens = 24 };

    private static MetricsRecord[] Metrics(string dir) => [.. MetricsFile.Read(MetricsFile.PathIn(dir))];

    private async Task<LmTrainingReport> SftStartAsync(string name, int steps) =>
        await LmTraining.RunAsync(Config(name, LmMode.Sft, steps));

    [Theory]
    [InlineData(LmMode.Sft)]
    [InlineData(LmMode.Topk)]
    [InlineData(LmMode.Whitebox)]
    [InlineData(LmMode.Onpolicy)]
    public async Task AWarmStartedRunsFirstEvaluationIsThatOfItsStartAndItsOptimiserScheduleAndStepsStartFresh(LmMode mode)
    {
        // The start is measured two ways as it is saved: cross-entropy and KL(T‖S) on the held-out split.
        var start = await LmTraining.RunAsync(Config($"start-{mode}", LmMode.Whitebox, steps: 6));
        // Each warm run evaluates with its own objective, set so that it is one of those two: SFT is cross-entropy, top-k at
        // α = 0 is too, white-box and on-policy with forward KL at T = 1 are KL(T‖S) (evaluation never samples).
        var warm = Config($"warm-{mode}", mode, steps: 4) with
        {
            Student = "checkpoint:" + start.ModelDirectory,
            Tokenizer = null,
            ChatTemplate = null,
            Alpha = mode == LmMode.Topk ? 0 : null,
            Divergence = mode is LmMode.Whitebox or LmMode.Onpolicy ? TokenDivergence.ForwardKl : null,
        };
        var report = await LmTraining.RunAsync(warm);
        var metrics = Metrics(warm.Out);
        Assert.Equal(0, metrics[0].Step);
        var first = metrics[0].EvalLoss!.Value;
        var expected = mode is LmMode.Whitebox or LmMode.Onpolicy ? start.EvalKlToTeacher!.Value : start.EvalCrossEntropy!.Value;
        output.WriteLine($"{mode}: the start's evaluation {expected:F6}, the warm start's step-0 evaluation {first:F6}");
        Assert.Equal(expected, first, 5);

        // Fresh optimiser and schedule: step 1 runs at the first warm-up rate and the run counts its own steps.
        var firstStep = metrics.First(r => r.Loss is not null);
        Assert.Equal(1, firstStep.Step);
        Assert.Equal(LearningRateSchedule.WarmupCosine(0, warm.Steps, warm.Warmup, warm.LearningRate, warm.MinLearningRate), firstStep.LearningRate!.Value, 12);
        Assert.Equal(4, report.Result.Steps);
        var lineage = (await LineageFile.ReadAsync(warm.Out))!;
        Assert.Equal(4, lineage.Steps);
        Assert.Equal("checkpoint:" + start.ModelDirectory, lineage.Student!.Init);
    }

    /// <summary>
    /// The default on-policy objective (GKD's generalised JSD, λ 0.5) lowers KL(T‖S) from the SFT start. The sampled per-token
    /// reverse KL alone (λ 1) does not, and is not expected to: it is mode-seeking, lowering KL(S‖T) on the student's own samples
    /// while KL(T‖S) rises (2.433 → 2.465 in this setting; 1.838 → 2.252 at the demo's budget, bench/results/on-policy.md).
    /// </summary>
    [Fact]
    public Task OnPolicyWithTheDefaultJsdFromAnSftStartLowersHeldOutKlToTheTeacher() => OnPolicyFromSftLowersKlAsync(TokenDivergence.Jsd, 0.5, 1e-3);

    private async Task OnPolicyFromSftLowersKlAsync(TokenDivergence divergence, double lambda, double lr)
    {
        var sft = await SftStartAsync($"onpolicy-sft-start-{divergence}-{lr}", steps: 40);
        var onPolicy = Config($"onpolicy-from-sft-{divergence}-{lr}", LmMode.Onpolicy, steps: 40) with
        {
            Student = "checkpoint:" + sft.ModelDirectory,
            Tokenizer = null,
            ChatTemplate = null,
            Divergence = divergence,
            Lambda = lambda,
            LearningRate = lr,
            MinLearningRate = lr / 10,
        };
        var report = await LmTraining.RunAsync(onPolicy);
        output.WriteLine($"{divergence} λ {lambda} lr {lr}: held-out KL(T‖S): SFT start {sft.EvalKlToTeacher:F4}, on-policy from it {report.EvalKlToTeacher:F4}");
        Assert.True(report.EvalKlToTeacher < sft.EvalKlToTeacher - 0.02, $"KL went {sft.EvalKlToTeacher} → {report.EvalKlToTeacher}");
    }

    [Fact]
    public async Task TheSameOnPolicyCommandGivesTheSameStudent()
    {
        var sft = await SftStartAsync("determinism-sft-start", steps: 10);
        var config = Config("determinism-a", LmMode.Onpolicy, steps: 6) with
        {
            Student = "checkpoint:" + sft.ModelDirectory,
            Tokenizer = null,
            ChatTemplate = null,
            Divergence = TokenDivergence.SampledReverseKl,
            Lambda = 1.0,
        };
        var a = await LmTraining.RunAsync(config);
        var b = await LmTraining.RunAsync(config with { Out = Path.Combine(fixture.Root, "determinism-b") });
        Assert.Equal(Metrics(a.ModelDirectory).Select(r => r.Loss), Metrics(b.ModelDirectory).Select(r => r.Loss));
        Assert.Equal(a.EvalKlToTeacher, b.EvalKlToTeacher);
        Assert.Equal(a.EvalCrossEntropy, b.EvalCrossEntropy);
    }
}
