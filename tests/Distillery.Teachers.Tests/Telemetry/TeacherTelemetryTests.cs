using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Pricing;
using Distillery.Core.Telemetry;
using Distillery.Teachers.Labeling;
using Distillery.Teachers.OpenAi;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;

namespace Distillery.Teachers.Tests.Telemetry;

/// <summary>The OpenTelemetry instruments and spans of a generate run, seen through a MeterListener and an ActivityListener.</summary>
public sealed class TeacherTelemetryTests
{
    [Fact]
    public async Task A_generate_run_reports_gen_ai_token_usage_duration_cost_and_ledger_hits_for_its_teacher()
    {
        // Instruments are process-wide and other tests run alongside: this test's teacher model is its own, and measurements are filtered by it.
        var model = "gpt-telemetry-" + Guid.NewGuid().ToString("N")[..8];
        var measurements = new ConcurrentQueue<(string Instrument, double Value, string? TokenType)>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) => { if (instrument.Meter.Name == DistilleryTelemetry.Name) listener.EnableMeasurementEvents(instrument); };
        void Collect(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? requested = null, tokenType = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "gen_ai.request.model") requested = tag.Value as string;
                if (tag.Key == "gen_ai.token.type") tokenType = tag.Value as string;
            }
            if (requested == model) measurements.Enqueue((instrument.Name, value, tokenType));
        }
        meters.SetMeasurementEventCallback<long>((i, v, t, _) => Collect(i, v, t));
        meters.SetMeasurementEventCallback<double>((i, v, t, _) => Collect(i, v, t));
        meters.Start();
        var spans = new ConcurrentQueue<Activity>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = s => s.Name == DistilleryTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { if (a.DisplayName == "chat " + model) spans.Enqueue(a); },
        };
        ActivitySource.AddActivityListener(activities);

        await using var server = await FakeOpenAiServer.StartAsync();
        using var dir = new ScratchFolder();
        var prompts = dir.File("p.txt");
        await File.WriteAllLinesAsync(prompts, ["one story", "two stories", "three stories"]);
        var teacher = TeacherFactory.Wrap(new OpenAiTeacher(model, server.BaseUrl, TestTeachers.Key, TimeSpan.FromSeconds(10)), new TeacherSettings());
        LabelingOptions Options(string output) => new()
        {
            PromptsPath = prompts, OutputDirectory = dir.File(output), LedgerPath = dir.File("ledger.db"),
            Sampling = new SamplingParameters { MaxTokens = 12, TopLogprobs = 2 }, Price = new ModelPrice(2m, 8m),
        };

        Assert.True((await new LabelingRunner(teacher, Options("first")).RunAsync()).Succeeded);
        var rows = (await DatasetReader.ReadAllRowsAsync(dir.File("first"))).Select(r => r.Distillery!).ToList();
        meters.RecordObservableInstruments();
        double Sum(string instrument, string? tokenType = null) => measurements.Where(m => m.Instrument == instrument && m.TokenType == tokenType).Sum(m => m.Value);

        Assert.Equal(rows.Sum(r => r.Usage.PromptTokens), Sum("gen_ai.client.token.usage", "input"));
        Assert.Equal(rows.Sum(r => r.Usage.CompletionTokens), Sum("gen_ai.client.token.usage", "output"));
        Assert.True(rows.Sum(r => r.Usage.CompletionTokens) > 0);
        Assert.Equal((double)rows.Sum(r => r.CostUsd), Sum("distillery.teacher.cost"), 9);
        Assert.True(rows.Sum(r => r.CostUsd) > 0);
        Assert.Equal(3, measurements.Count(m => m.Instrument == "gen_ai.client.operation.duration"));
        Assert.Equal(3, spans.Count);
        Assert.All(spans, s => Assert.Equal(ActivityKind.Client, s.Kind));
        Assert.Equal(rows.Sum(r => r.Usage.CompletionTokens), spans.Sum(s => (int)s.GetTagItem("gen_ai.usage.output_tokens")!));
        Assert.All(spans, s => Assert.Equal("openai", s.GetTagItem("gen_ai.provider.name")));

        // The same requests again: the ledger answers them, nothing is sent, no tokens are spent.
        Assert.True((await new LabelingRunner(teacher, Options("second")).RunAsync()).Succeeded);
        Assert.Equal(3, Sum("distillery.teacher.ledger_hits"));
        Assert.Equal(rows.Sum(r => r.Usage.CompletionTokens), Sum("gen_ai.client.token.usage", "output"));
    }
}
