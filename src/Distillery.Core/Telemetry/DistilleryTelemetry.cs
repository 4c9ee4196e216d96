using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Distillery.Core.Telemetry;

/// <summary>
/// Distillery's <see cref="ActivitySource"/> and <see cref="Meter"/> (both named <see cref="Name"/>) and its instruments, named after
/// the OpenTelemetry generative-AI semantic conventions where one fits (<c>gen_ai.*</c>) and <c>distillery.*</c> otherwise.
/// Collect them with OpenTelemetry's <c>AddSource("Distillery")</c> and <c>AddMeter("Distillery")</c>, or a <see cref="MeterListener"/>.
/// </summary>
public static class DistilleryTelemetry
{
    /// <summary>The name of the activity source and of the meter.</summary>
    public const string Name = "Distillery";

    /// <summary>Spans: one per teacher call (<c>chat MODEL</c>) and one per training step.</summary>
    public static ActivitySource Source { get; } = new(Name);

    /// <summary>The meter every instrument below belongs to.</summary>
    public static Meter Meter { get; } = new(Name);

    /// <summary><c>gen_ai.client.token.usage</c>: tokens of each teacher call, by <c>gen_ai.token.type</c> (input or output).</summary>
    public static Histogram<long> TokenUsage { get; } = Meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Tokens used by teacher calls.");

    /// <summary><c>gen_ai.client.operation.duration</c>: seconds of each teacher call, retries included.</summary>
    public static Histogram<double> OperationDuration { get; } = Meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s", "Duration of teacher calls.");

    /// <summary><c>distillery.teacher.cost</c>: US dollars teacher calls cost at the prices given.</summary>
    public static Counter<double> TeacherCost { get; } = Meter.CreateCounter<double>("distillery.teacher.cost", "USD", "What teacher calls cost.");

    /// <summary><c>distillery.teacher.retries</c>: retries teacher calls took.</summary>
    public static Counter<long> TeacherRetries { get; } = Meter.CreateCounter<long>("distillery.teacher.retries", "{retry}", "Retries of teacher calls.");

    /// <summary><c>distillery.teacher.ledger_hits</c>: requests the ledger answered, sending nothing.</summary>
    public static Counter<long> LedgerHits { get; } = Meter.CreateCounter<long>("distillery.teacher.ledger_hits", "{request}", "Requests answered from the ledger.");

    /// <summary><c>distillery.training.steps</c>: optimiser steps completed.</summary>
    public static Counter<long> TrainingSteps { get; } = Meter.CreateCounter<long>("distillery.training.steps", "{step}", "Training steps completed.");

    /// <summary><c>distillery.training.step.duration</c>: seconds of each optimiser step.</summary>
    public static Histogram<double> TrainingStepDuration { get; } = Meter.CreateHistogram<double>("distillery.training.step.duration", "s", "Duration of training steps.");

    /// <summary><c>distillery.training.loss</c>: the training loss of each step.</summary>
    public static Histogram<double> TrainingLoss { get; } = Meter.CreateHistogram<double>("distillery.training.loss", "{loss}", "Training loss per step.");
}
