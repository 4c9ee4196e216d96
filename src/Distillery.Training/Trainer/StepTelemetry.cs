using System;
using System.Diagnostics;
using Distillery.Core.Telemetry;

namespace Distillery.Training.Trainer;

/// <summary>A finished optimiser step as OpenTelemetry sees it: the step counter, its duration and loss, and its span's attributes.</summary>
internal static class StepTelemetry
{
    /// <summary>Records step <paramref name="step"/> (1-based) with its loss, learning rate and duration.</summary>
    public static void Record(Activity? span, int step, double loss, double learningRate, TimeSpan elapsed)
    {
        DistilleryTelemetry.TrainingSteps.Add(1);
        DistilleryTelemetry.TrainingStepDuration.Record(elapsed.TotalSeconds);
        DistilleryTelemetry.TrainingLoss.Record(loss);
        if (span is null) return;
        span.SetTag("distillery.training.step", step);
        span.SetTag("distillery.training.loss", loss);
        span.SetTag("distillery.training.learning_rate", learningRate);
    }
}
