using System;
using System.Diagnostics;
using System.Globalization;
using Distillery.Core.Chat;
using Distillery.Core.Provenance;
using Distillery.Core.Telemetry;

namespace Distillery.Teachers.Telemetry;

/// <summary>
/// One request sent to a teacher, as OpenTelemetry sees it: a <c>chat MODEL</c> client span with the gen-AI attributes, and on its
/// end the token, duration, cost and retry instruments of <see cref="DistilleryTelemetry"/>.
/// </summary>
public sealed class TeacherCall : IDisposable
{
    private readonly Activity? activity;
    private readonly TimeProvider clock;
    private readonly long started;
    private readonly TagList tags;

    /// <summary>Starts the span and the clock of a request with these sampling parameters to this teacher.</summary>
    public TeacherCall(TeacherIdentity teacher, SamplingParameters sampling, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(sampling);
        this.clock = clock ?? throw new ArgumentNullException(nameof(clock));
        started = clock.GetTimestamp();
        tags = new TagList
        {
            { "gen_ai.operation.name", "chat" },
            { "gen_ai.provider.name", teacher.Provider },
            { "gen_ai.system", teacher.Provider },
            { "gen_ai.request.model", teacher.Model },
        };
        activity = DistilleryTelemetry.Source.StartActivity("chat " + teacher.Model, ActivityKind.Client);
        if (activity is null) return;
        foreach (var tag in tags) activity.SetTag(tag.Key, tag.Value);
        activity.SetTag("server.address", teacher.Endpoint);
        activity.SetTag("gen_ai.request.temperature", sampling.Temperature);
        activity.SetTag("gen_ai.request.top_p", sampling.TopP);
        activity.SetTag("gen_ai.request.max_tokens", sampling.MaxTokens);
        if (sampling.Seed is { } seed) activity.SetTag("gen_ai.request.seed", seed);
    }

    /// <summary>Records an answer: its tokens, the call's duration, its cost and the retries it took.</summary>
    public void Answered(Completion answer, decimal costUsd, int retries)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var withModel = tags;
        withModel.Add("gen_ai.response.model", answer.Model);
        DistilleryTelemetry.OperationDuration.Record(clock.GetElapsedTime(started).TotalSeconds, withModel);
        var input = withModel;
        input.Add("gen_ai.token.type", "input");
        DistilleryTelemetry.TokenUsage.Record(answer.Usage.PromptTokens, input);
        var output = withModel;
        output.Add("gen_ai.token.type", "output");
        DistilleryTelemetry.TokenUsage.Record(answer.Usage.CompletionTokens, output);
        DistilleryTelemetry.TeacherCost.Add((double)costUsd, withModel);
        if (retries > 0) DistilleryTelemetry.TeacherRetries.Add(retries, withModel);
        if (activity is null) return;
        activity.SetTag("gen_ai.response.model", answer.Model);
        activity.SetTag("gen_ai.response.finish_reasons", new[] { answer.FinishReason });
        activity.SetTag("gen_ai.usage.input_tokens", answer.Usage.PromptTokens);
        activity.SetTag("gen_ai.usage.output_tokens", answer.Usage.CompletionTokens);
        activity.SetTag("distillery.cost_usd", costUsd.ToString(CultureInfo.InvariantCulture));
        activity.SetTag("distillery.retries", retries);
    }

    /// <summary>Records a failure: the call's duration with <c>error.type</c>, and the retries it took.</summary>
    public void Failed(TeacherException error, int retries)
    {
        ArgumentNullException.ThrowIfNull(error);
        var failed = tags;
        failed.Add("error.type", error.Kind.ToString());
        DistilleryTelemetry.OperationDuration.Record(clock.GetElapsedTime(started).TotalSeconds, failed);
        if (retries > 0) DistilleryTelemetry.TeacherRetries.Add(retries, failed);
        activity?.SetTag("error.type", error.Kind.ToString());
        activity?.SetStatus(ActivityStatusCode.Error, error.Message);
    }

    /// <summary>Counts a request the ledger answered, sending nothing.</summary>
    public static void FromLedger(TeacherIdentity teacher)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        DistilleryTelemetry.LedgerHits.Add(1, new("gen_ai.provider.name", teacher.Provider), new("gen_ai.request.model", teacher.Model));
    }

    /// <summary>Ends the span.</summary>
    public void Dispose() => activity?.Dispose();
}
