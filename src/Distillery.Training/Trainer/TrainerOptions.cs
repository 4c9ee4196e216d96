using System;

namespace Distillery.Training.Trainer;

/// <summary>How a training run goes: optimiser, schedule, accumulation, evaluation, early stopping, checkpoints.</summary>
public sealed record TrainerOptions
{
    /// <summary>Folder for resume states and metrics.jsonl.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Optimiser steps in the whole run.</summary>
    public required int MaxSteps { get; init; }

    /// <summary>Micro-batches whose gradients are summed into one optimiser step.</summary>
    public int GradientAccumulation { get; init; } = 1;

    /// <summary>Peak learning rate (after warm-up).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Learning rate at the end of the cosine decay.</summary>
    public double MinLearningRate { get; init; }

    /// <summary>Linear warm-up steps.</summary>
    public int WarmupSteps { get; init; }

    /// <summary>AdamW decoupled weight decay, applied to matrices only (not to biases or norm gains).</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>AdamW β₁.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>AdamW β₂.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>AdamW ε.</summary>
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>Clip the global gradient L2 norm to this value; null or non-positive disables clipping.</summary>
    public double? ClipGradientNorm { get; init; } = 1.0;

    /// <summary>Seed for the torch generator (dropout and other randomness inside the objective) on a fresh run.</summary>
    public long Seed { get; init; }

    /// <summary>Evaluate on the held-out source every this many steps (and at the end); 0 never evaluates.</summary>
    public int EvalEvery { get; init; }

    /// <summary>
    /// Whether a fresh run evaluates once before its first step (logged at step 0): a warm start's baseline, which equals the
    /// evaluation of the model it started from.
    /// </summary>
    public bool EvaluateAtStart { get; init; }

    /// <summary>Stop after this many evaluations without improvement; null never stops early.</summary>
    public int? EarlyStoppingPatience { get; init; }

    /// <summary>An evaluation improves on the best when its loss is lower by more than this.</summary>
    public double EarlyStoppingMinDelta { get; init; }

    /// <summary>Whether the model ends the run with the weights of its best evaluation (when evaluation ran).</summary>
    public bool RestoreBestWeights { get; init; }

    /// <summary>Write a checkpoint every this many steps; 0 only at the end and on cancellation.</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>How many checkpoints to keep on disk (oldest removed first).</summary>
    public int KeepCheckpoints { get; init; } = 2;

    /// <summary>Whether to continue from the latest checkpoint in <see cref="OutputDirectory"/> if one exists.</summary>
    public bool Resume { get; init; } = true;


    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(OutputDirectory)) throw new ArgumentException("OutputDirectory is required", nameof(OutputDirectory));
        if (MaxSteps < 1) throw new ArgumentOutOfRangeException(nameof(MaxSteps), MaxSteps, "must be at least 1");
        if (GradientAccumulation < 1) throw new ArgumentOutOfRangeException(nameof(GradientAccumulation), GradientAccumulation, "must be at least 1");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "must be positive");
        if (MinLearningRate < 0 || MinLearningRate > LearningRate) throw new ArgumentOutOfRangeException(nameof(MinLearningRate), MinLearningRate, "must lie in [0, LearningRate]");
        if (WarmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(WarmupSteps), WarmupSteps, "must not be negative");
        if (EvalEvery < 0) throw new ArgumentOutOfRangeException(nameof(EvalEvery), EvalEvery, "must not be negative");
        if (CheckpointEvery < 0) throw new ArgumentOutOfRangeException(nameof(CheckpointEvery), CheckpointEvery, "must not be negative");
        if (KeepCheckpoints < 1) throw new ArgumentOutOfRangeException(nameof(KeepCheckpoints), KeepCheckpoints, "must be at least 1");
        if (EarlyStoppingPatience is < 1) throw new ArgumentOutOfRangeException(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "must be at least 1");
    }
}
