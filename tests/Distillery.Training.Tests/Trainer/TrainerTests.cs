using System;
using System.IO;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Text.Json;
using System.Threading;
using Distillery.Core.Metrics;
using Distillery.Core.Telemetry;
using Distillery.Models.Classifiers;
using Distillery.Models.Runtime;
using Distillery.TestSupport.Files;
using Distillery.Training.Classification;
using Distillery.Training.Trainer;
using static TorchSharp.torch;

namespace Distillery.Training.Tests.Trainer;

// Shares torch's process-wide generator with the classic-KD tests; run alone so its resume comparison is not perturbed.
[Collection(Distillery.Training.Tests.Language.SerialTorchCollection.Name)]
public sealed class TrainerTests : IDisposable
{
    private readonly ScratchFolder scratch = new("trainer-tests");

    public TrainerTests() => TorchRuntime.EnsureLoaded();

    private string root => scratch.Path;

    public void Dispose() => scratch.Dispose();

    private static (Tensor X, Tensor Y) Data(long seed, int n = 96)
    {
        using var g = new Generator((ulong)seed);
        var x = randn([n, 12], generator: g);
        // Labels from a fixed random linear rule, so there is something to learn.
        var w = randn([12, 3], generator: g);
        return (x, x.matmul(w).argmax(1));
    }

    private static MlpClassifier Model(long initSeed, double dropout = 0.3)
    {
        manual_seed(initSeed);
        return new MlpClassifier(new MlpClassifierConfig(12, [16], 3, HiddenDropout: dropout));
    }

    private TrainerOptions Options(string name, int steps = 12, int accumulation = 2) => new()
    {
        OutputDirectory = Path.Combine(root, name),
        MaxSteps = steps,
        GradientAccumulation = accumulation,
        LearningRate = 3e-2,
        MinLearningRate = 1e-3,
        WarmupSteps = 2,
        ClipGradientNorm = 0.5,
        Seed = 7,
        EvalEvery = 3,
        CheckpointEvery = 4,
        KeepCheckpoints = 2,
    };

    /// <summary>The hard-label objective, counting training calls and cancelling at a chosen one: a real mid-step interruption.</summary>
    private sealed class Interrupting(MlpClassifier model, int cancelAtCall, CancellationTokenSource cts) : ITrainingObjective<ClassificationBatch>
    {
        private readonly HardLabelObjective inner = new(model);
        private int calls;

        public Tensor Loss(ClassificationBatch batch, double normalizer)
        {
            if (model.training && ++calls == cancelAtCall) cts.Cancel();
            return inner.Loss(batch, normalizer);
        }
    }

    private static double[] TrainLosses(string dir) => File.ReadLines(Path.Combine(dir, "metrics.jsonl"))
        .Select(l => JsonSerializer.Deserialize<MetricsRecord>(l)!)
        .Where(r => r.Loss is not null)
        .Select(r => r.Loss!.Value)
        .ToArray();

    private static double MaxWeightDifference(MlpClassifier a, MlpClassifier b)
    {
        var sa = a.state_dict();
        var sb = b.state_dict();
        return sa.Keys.Max(k => (sa[k] - sb[k]).abs().max().item<float>());
    }

    [Fact]
    public void InterruptedAndResumedRunEqualsAnUninterruptedOne()
    {
        var (x, y) = Data(1);
        var (ex, ey) = Data(2, 32);
        var eval = new ClassificationBatchSource(ex, ey, null, 16, seed: 0, shuffle: false);

        var straight = Model(initSeed: 100);
        var optionsA = Options("straight");
        var resultA = new Trainer<ClassificationBatch>(straight, new HardLabelObjective(straight),
            new ClassificationBatchSource(x, y, null, 8, seed: 5), eval, optionsA).Run();
        Assert.Equal(12, resultA.Steps);
        Assert.Null(resultA.ResumedFromStep);

        // Interrupted run: cancelled inside step 7 (its first micro-batch), i.e. between two accumulated micro-batches.
        var optionsB = Options("interrupted");
        using (var cts = new CancellationTokenSource())
        {
            var first = Model(initSeed: 100);
            var trainer = new Trainer<ClassificationBatch>(first, new Interrupting(first, cancelAtCall: 13, cts),
                new ClassificationBatchSource(x, y, null, 8, seed: 5), eval, optionsB);
            Assert.ThrowsAny<OperationCanceledException>(() => trainer.Run(cancellationToken: cts.Token));
        }
        var saved = ResumeStateStore.FindLatest(optionsB.OutputDirectory);
        Assert.NotNull(saved);
        Assert.Equal(6, ResumeStateStore.ReadState(saved!).Step);
        Assert.Empty(Directory.GetDirectories(ResumeStateStore.Root(optionsB.OutputDirectory), ".tmp-*"));

        // A fresh process would build the model anew, with different random weights: the checkpoint must override them.
        var resumed = Model(initSeed: 999);
        var resultB = new Trainer<ClassificationBatch>(resumed, new HardLabelObjective(resumed),
            new ClassificationBatchSource(x, y, null, 8, seed: 5), eval, optionsB).Run();
        Assert.Equal(6, resultB.ResumedFromStep);
        Assert.Equal(12, resultB.Steps);

        var lossesA = TrainLosses(optionsA.OutputDirectory);
        var lossesB = TrainLosses(optionsB.OutputDirectory);
        Assert.Equal(12, lossesA.Length);
        Assert.Equal(lossesA.Length, lossesB.Length);
        for (var i = 0; i < lossesA.Length; i++) Assert.Equal(lossesA[i], lossesB[i], 1e-6);
        Assert.True(MaxWeightDifference(straight, resumed) < 1e-6, $"weights differ by {MaxWeightDifference(straight, resumed)}");
        Assert.Equal(resultA.BestEvalLoss!.Value, resultB.BestEvalLoss!.Value, 1e-6);
        // The loss really moved: training did something.
        Assert.True(lossesA[^1] < lossesA[0] * 0.8);
    }

    [Fact]
    public void Each_step_reaches_the_Distillery_meter_with_its_loss()
    {
        // The meter is process-wide and other tests train alongside: this run's losses must all be among those measured.
        var losses = new System.Collections.Concurrent.ConcurrentBag<double>();
        long steps = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) => { if (instrument.Meter.Name == DistilleryTelemetry.Name) l.EnableMeasurementEvents(instrument); };
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => { if (instrument.Name == "distillery.training.loss") losses.Add(value); });
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => { if (instrument.Name == "distillery.training.steps") Interlocked.Add(ref steps, value); });
        listener.Start();
        var (x, y) = Data(4);
        var model = Model(initSeed: 6, dropout: 0);
        var options = Options("metered", steps: 5, accumulation: 1) with { EvalEvery = 0 };

        new Trainer<ClassificationBatch>(model, new HardLabelObjective(model), new ClassificationBatchSource(x, y, null, 16, seed: 9), null, options).Run();

        Assert.True(Interlocked.Read(ref steps) >= 5, $"{steps} steps measured");
        var logged = TrainLosses(options.OutputDirectory);
        Assert.Equal(5, logged.Length);
        Assert.All(logged, loss => Assert.Contains(loss, losses));
    }

    [Fact]
    public void AccumulatingTwoHalfBatchesEqualsOneFullBatch()
    {
        var (x, y) = Data(3);
        var whole = Model(initSeed: 5, dropout: 0);
        new Trainer<ClassificationBatch>(whole, new HardLabelObjective(whole), new ClassificationBatchSource(x, y, null, 16, seed: 9),
            null, Options("whole", steps: 8, accumulation: 1) with { EvalEvery = 0 }).Run();
        var halves = Model(initSeed: 5, dropout: 0);
        new Trainer<ClassificationBatch>(halves, new HardLabelObjective(halves), new ClassificationBatchSource(x, y, null, 8, seed: 9),
            null, Options("halves", steps: 8, accumulation: 2) with { EvalEvery = 0 }).Run();
        Assert.True(MaxWeightDifference(whole, halves) < 1e-5, $"weights differ by {MaxWeightDifference(whole, halves)}");
    }

    [Fact]
    public void StopsEarlyWhenHeldOutLossStopsImprovingAndRestoresTheBestWeights()
    {
        var (x, y) = Data(4, 32);
        // Held-out labels from an unrelated rule: memorising the training set only makes the held-out loss worse.
        var (ex, _) = Data(5, 64);
        var ey = randint(0, 3, [64], generator: new Generator(11));
        var model = Model(initSeed: 1, dropout: 0);
        var options = Options("early", steps: 200, accumulation: 1) with
        {
            EvalEvery = 2, EarlyStoppingPatience = 3, RestoreBestWeights = true, LearningRate = 0.05, WarmupSteps = 0,
        };
        var trainer = new Trainer<ClassificationBatch>(model, new HardLabelObjective(model), new ClassificationBatchSource(x, y, null, 32, seed: 1),
            new ClassificationBatchSource(ex, ey, null, 64, seed: 0, shuffle: false), options);
        var result = trainer.Run();
        Assert.True(result.StoppedEarly);
        Assert.True(result.Steps < 200);
        Assert.Equal(result.BestEvalStep!.Value + 2 * options.EarlyStoppingPatience!.Value, result.Steps);
        Assert.Equal(result.BestEvalLoss!.Value, trainer.Evaluate(), 1e-5);

        // The run writes its metrics, a line a step and one an evaluation; resume states are whole folders, old ones pruned.
        var metrics = MetricsFile.Read(MetricsFile.PathIn(options.OutputDirectory));
        Assert.Equal(result.Steps + result.Steps / 2, metrics.Count);
        Assert.Equal(result.BestEvalLoss!.Value, metrics.Where(m => m.EvalLoss is not null).Min(m => m.EvalLoss!.Value), 1e-9);
        var checkpoints = ResumeStateStore.List(options.OutputDirectory);
        Assert.InRange(checkpoints.Count, 1, 2);
        Assert.EndsWith($"step-{result.Steps:D8}", checkpoints[^1]);
        Assert.True(File.Exists(Path.Combine(checkpoints[^1], ResumeStateStore.BestFile)));
    }

    [Fact]
    public void ReportsProgressEveryStep()
    {
        var (x, y) = Data(6);
        var model = Model(initSeed: 2);
        var reports = new System.Collections.Generic.List<TrainingProgress>();
        new Trainer<ClassificationBatch>(model, new HardLabelObjective(model), new ClassificationBatchSource(x, y, null, 32, seed: 1), null,
            Options("progress", steps: 5, accumulation: 1) with { EvalEvery = 0 }).Run(new SyncProgress(reports.Add));
        Assert.Equal([1, 2, 3, 4, 5], reports.Select(r => r.Step));
        Assert.All(reports, r => Assert.True(r.PositionsPerSecond > 0 && double.IsFinite(r.Loss)));
        Assert.Equal(TimeSpan.Zero, reports[^1].Eta);
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
