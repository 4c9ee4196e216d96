using System.Text.Json.Serialization;

namespace Distillery.Training.Trainer;

/// <summary>The run state a checkpoint records beside the weights and optimiser: enough to continue exactly.</summary>
public sealed record TrainerState
{
    /// <summary>The checkpoint format; bumped when fields change meaning.</summary>
    [JsonPropertyName("format")] public int Format { get; init; } = 1;

    /// <summary>Optimiser steps done.</summary>
    [JsonPropertyName("step")] public int Step { get; init; }

    /// <summary>Micro-batches consumed: the data position (epoch = cursor / batches per epoch).</summary>
    [JsonPropertyName("micro_batch_cursor")] public long MicroBatchCursor { get; init; }

    /// <summary>The torch CPU generator state (dropout etc.) at this step, base64.</summary>
    [JsonPropertyName("rng_state")] public string RngState { get; init; } = "";

    /// <summary>Training loss of the last step.</summary>
    [JsonPropertyName("last_loss")] public double LastLoss { get; init; }

    /// <summary>Lowest held-out loss so far, if evaluated.</summary>
    [JsonPropertyName("best_eval_loss")] public double? BestEvalLoss { get; init; }

    /// <summary>Step of the best evaluation.</summary>
    [JsonPropertyName("best_eval_step")] public int? BestEvalStep { get; init; }

    /// <summary>Evaluations since the last improvement (early stopping's counter).</summary>
    [JsonPropertyName("evals_without_improvement")] public int EvalsWithoutImprovement { get; init; }

    /// <summary>Whether early stopping had ended the run.</summary>
    [JsonPropertyName("stopped_early")] public bool StoppedEarly { get; init; }

    /// <summary>The run's step budget and accumulation, checked on resume so a checkpoint is not continued under another plan.</summary>
    [JsonPropertyName("max_steps")] public int MaxSteps { get; init; }

    /// <summary>Micro-batches per optimiser step.</summary>
    [JsonPropertyName("gradient_accumulation")] public int GradientAccumulation { get; init; }
}
