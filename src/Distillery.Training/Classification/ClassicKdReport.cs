using System;

namespace Distillery.Training.Classification;

/// <summary>One trained model in the classic-KD table.</summary>
/// <param name="Name">teacher, baseline or distilled.</param>
/// <param name="Architecture">e.g. "784-1200-1200-10, dropout 0.2/0.5, jitter ±2".</param>
/// <param name="Parameters">Weights and biases.</param>
/// <param name="TestErrors">Misclassified test examples.</param>
/// <param name="TestCount">Test examples.</param>
/// <param name="TrainSeconds">Wall time of its training in this process.</param>
public sealed record ClassicKdRow(string Name, string Architecture, long Parameters, int TestErrors, int TestCount, double TrainSeconds)
{
    /// <summary>Share of test examples classified correctly.</summary>
    public double Accuracy => TestCount == 0 ? 0 : 1.0 - (double)TestErrors / TestCount;
}

/// <summary>The outcome of a classic-KD run: the three models, the share of the gap closed, and which data was used.</summary>
/// <param name="Teacher">The 2×1200 dropout teacher.</param>
/// <param name="Baseline">The 2×800 net on hard labels.</param>
/// <param name="Distilled">The 2×800 net on soft targets.</param>
/// <param name="TrainSource">Training image file.</param>
/// <param name="TrainCount">Training examples used.</param>
/// <param name="TestSource">Test image file.</param>
/// <param name="TestCount">Test examples used.</param>
/// <param name="Options">The settings of the run.</param>
/// <param name="WallTime">Wall time of the whole run.</param>
public sealed record ClassicKdReport(ClassicKdRow Teacher, ClassicKdRow Baseline, ClassicKdRow Distilled,
    string TrainSource, int TrainCount, string TestSource, int TestCount, ClassicKdOptions Options, TimeSpan WallTime)
{
    /// <summary>
    /// (baseline errors − distilled errors) / (baseline errors − teacher errors): the share of the baseline-to-teacher gap
    /// that distillation closed (the paper: (146 − 74) / (146 − 67) = 91%). NaN when the teacher is not better than the baseline.
    /// </summary>
    public double GapClosed => Baseline.TestErrors > Teacher.TestErrors
        ? (double)(Baseline.TestErrors - Distilled.TestErrors) / (Baseline.TestErrors - Teacher.TestErrors)
        : double.NaN;
}

/// <summary>Progress of a classic-KD run: which model is training and how far it is.</summary>
/// <param name="Model">teacher, baseline or distilled.</param>
/// <param name="Training">The trainer's report.</param>
public sealed record ClassicKdProgress(string Model, Trainer.TrainingProgress Training);
