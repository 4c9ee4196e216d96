using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using Distillery.Core.Datasets;
using Distillery.Models.Classifiers;
using Distillery.Models.Runtime;
using Distillery.Training.Trainer;
using static TorchSharp.torch;

namespace Distillery.Training.Classification;

/// <summary>
/// Reproduces Hinton, Vinyals &amp; Dean (2015), "Distilling the Knowledge in a Neural Network", §3 (MNIST): trains the
/// teacher, the hard-label baseline and the distilled student with Distillery's trainer and losses, and scores all three on
/// the test set. Each model's run lives in its own folder under the output and resumes after an interruption.
/// </summary>
public static class ClassicDistillation
{
    /// <summary>Runs the three trainings on <paramref name="train"/> and scores them on <paramref name="test"/>.</summary>
    public static ClassicKdReport Run(IdxImageSet train, IdxImageSet test, ClassicKdOptions options,
        IProgress<ClassicKdProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        TorchRuntime.EnsureLoaded();
        var clock = Stopwatch.StartNew();
        train = train.Subset(options.TrainLimit);
        test = test.Subset(options.TestLimit);
        if (train.Rows != test.Rows || train.Columns != test.Columns)
            throw new ArgumentException($"training images are {train.Rows}×{train.Columns} but test images are {test.Rows}×{test.Columns}", nameof(test));
        var classes = Math.Max(train.Classes, test.Classes);

        using var scope = NewDisposeScope();
        var (trainX, trainY) = ToTensors(train);
        var (testX, testY) = ToTensors(test);
        var features = train.Rows * train.Columns;
        var stepsPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;

        // 1. The teacher: 2×1200 with dropout on inputs and hidden units, trained on jittered (and for clothes, mirrored) images.
        var teacherConfig = new MlpClassifierConfig(features, [options.TeacherWidth, options.TeacherWidth], classes, options.TeacherHiddenDropout, options.TeacherInputDropout);
        var jitter = (options.TeacherJitter > 0 || options.TeacherMirror) && train.Rows == train.Columns ? new ImageJitter(train.Rows, options.TeacherJitter, options.TeacherMirror) : null;
        var (teacher, teacherSeconds) = Train("teacher", teacherConfig, options.Seed, options.TeacherEpochs * stepsPerEpoch,
            options.TeacherLearningRate, options.TeacherWeightDecay, m => new HardLabelObjective(m),
            new ClassificationBatchSource(trainX, trainY, null, options.BatchSize, options.Seed, jitter: jitter), options, progress, cancellationToken);

        // 2. The teacher's logits on the clean training images: the soft targets (softened at T inside the loss).
        var teacherLogits = Predict(teacher, trainX);

        // 3. The baseline: 2×800, no regularisation, hard labels only.
        var studentConfig = new MlpClassifierConfig(features, [options.StudentWidth, options.StudentWidth], classes);
        var studentSteps = options.StudentEpochs * stepsPerEpoch;
        var (baseline, baselineSeconds) = Train("baseline", studentConfig, options.Seed + 1, studentSteps, options.StudentLearningRate, 0,
            m => new HardLabelObjective(m), new ClassificationBatchSource(trainX, trainY, null, options.BatchSize, options.Seed + 1), options, progress, cancellationToken);

        // 4. The distilled student: the same net and initialisation as the baseline, on soft targets plus a weighted hard term.
        var (student, studentSeconds) = Train("distilled", studentConfig, options.Seed + 1, studentSteps, options.StudentLearningRate, 0,
            m => new SoftTargetObjective(m, options.Temperature, options.Alpha),
            new ClassificationBatchSource(trainX, trainY, teacherLogits, options.BatchSize, options.Seed + 1), options, progress, cancellationToken);

        var teacherArch = $"{Shape(teacherConfig)}, dropout {options.TeacherInputDropout:0.##} in / {options.TeacherHiddenDropout:0.##} hidden" + (jitter is { MaxShift: > 0 } ? $", jitter ±{jitter.MaxShift} px" : "") + (jitter is { Mirror: true } ? ", mirrored" : "") + (options.TeacherWeightDecay > 0 ? $", weight decay {options.TeacherWeightDecay:0.###}" : "");
        return new ClassicKdReport(
            new ClassicKdRow("teacher", teacherArch, teacherConfig.ParameterCount, Errors(teacher, testX, testY), test.Count, teacherSeconds),
            new ClassicKdRow("baseline", $"{Shape(studentConfig)}, hard labels", studentConfig.ParameterCount, Errors(baseline, testX, testY), test.Count, baselineSeconds),
            new ClassicKdRow("distilled", $"{Shape(studentConfig)}, soft targets T={options.Temperature:0.##}, α={options.Alpha:0.##}", studentConfig.ParameterCount, Errors(student, testX, testY), test.Count, studentSeconds),
            train.Source, train.Count, test.Source, test.Count, options, clock.Elapsed);
    }

    private static (MlpClassifier Model, double Seconds) Train(string name, MlpClassifierConfig config, long seed, int steps, double lr, double weightDecay,
        Func<MlpClassifier, ITrainingObjective<ClassificationBatch>> objective, ClassificationBatchSource source, ClassicKdOptions options,
        IProgress<ClassicKdProgress>? progress, CancellationToken cancellationToken)
    {
        manual_seed(seed);
        var model = new MlpClassifier(config);
        var clock = Stopwatch.StartNew();
        var trainerOptions = new TrainerOptions
        {
            OutputDirectory = Path.Combine(options.OutputDirectory, name),
            MaxSteps = steps,
            LearningRate = lr,
            MinLearningRate = lr / 100,
            WarmupSteps = Math.Min(steps / 20, 200),
            WeightDecay = weightDecay,
            ClipGradientNorm = null,
            Seed = seed,
            CheckpointEvery = Math.Max(1, steps / 4),
            KeepCheckpoints = 1,
        };
        var reporter = progress is null ? null : new ForwardingProgress(name, progress);
        new Trainer<ClassificationBatch>(model, objective(model), source, null, trainerOptions).Run(reporter, cancellationToken);
        model.eval();
        return (model, clock.Elapsed.TotalSeconds);
    }

    private static (Tensor X, Tensor Y) ToTensors(IdxImageSet set)
    {
        var x = tensor(set.Pixels, dtype: ScalarType.Byte).reshape(set.Count, set.Rows * set.Columns).to_type(ScalarType.Float32) / 255f; // (N, rows·cols) in [0, 1]
        var y = tensor(set.Labels, dtype: ScalarType.Byte).to_type(ScalarType.Int64);
        return (x, y);
    }

    /// <summary>Logits of <paramref name="model"/> (in eval mode) for every row of <paramref name="x"/>, in chunks.</summary>
    public static Tensor Predict(MlpClassifier model, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(x);
        using var _ = no_grad();
        model.eval();
        var n = x.shape[0];
        var parts = new System.Collections.Generic.List<Tensor>();
        for (long start = 0; start < n; start += 2000)
            parts.Add(model.call(x.narrow(0, start, Math.Min(2000, n - start))));
        model.train();
        return cat(parts, 0);
    }

    private static int Errors(MlpClassifier model, Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        return (int)Predict(model, x).argmax(1).ne(y).sum().item<long>();
    }

    private static string Shape(MlpClassifierConfig c) => $"{c.InputSize}-{string.Join('-', c.HiddenSizes)}-{c.Classes}";

    private sealed class ForwardingProgress(string model, IProgress<ClassicKdProgress> inner) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => inner.Report(new ClassicKdProgress(model, value));
    }
}
