using System.Globalization;
using Distillery.Teachers.Labeling;
using Distillery.Training.Language.Configuration;
using Distillery.Training.Trainer;

namespace Distillery.Pipeline;

/// <summary>The one-line descriptions of the steps' progress (pure).</summary>
public static class ProgressText
{
    /// <summary>A labeling run: rows done, completion tokens per second, spend and failures.</summary>
    public static PipelineProgress Generate(LabelingProgress value)
    {
        System.ArgumentNullException.ThrowIfNull(value);
        var rate = value.Elapsed.TotalSeconds > 0 ? value.CompletionTokens / value.Elapsed.TotalSeconds : 0;
        var failed = value.Failed > 0 ? $" · {value.Failed} failed" : "";
        var message = string.Create(CultureInfo.InvariantCulture, $"rows {value.RowsDone}/{value.RowsTotal} · {rate:F0} tok/s · ${value.CostUsd:F4}{failed}");
        return new PipelineProgress(PipelineStage.Generate, message, value.RowsDone, value.RowsTotal);
    }

    /// <summary>A training run: step, loss, held-out loss, speed and time left.</summary>
    public static PipelineProgress Train(TrainingProgress value, LmMode mode)
    {
        System.ArgumentNullException.ThrowIfNull(value);
        var eta = value.Eta is { } e ? e.ToString(e.TotalHours >= 1 ? @"h\:mm\:ss" : @"m\:ss", CultureInfo.InvariantCulture) : "?";
        var evalText = value.EvalLoss is { } ev ? string.Create(CultureInfo.InvariantCulture, $" eval {ev:F4}") : "";
        var message = string.Create(CultureInfo.InvariantCulture,
            $"{mode.Name()} step {value.Step}/{value.MaxSteps} loss {value.Loss:F4}{evalText} {value.PositionsPerSecond:N0} tok/s ETA {eta}");
        return new PipelineProgress(PipelineStage.Train, message, value.Step, value.MaxSteps);
    }
}
