using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Evaluation.Reports;
using Distillery.Pipeline;
using Distillery.Teachers.Labeling;
using Distillery.TestSupport.Files;
using Distillery.Training.Language.Configuration;
using Distillery.Training.Trainer;
using Microsoft.Extensions.Logging;

namespace Distillery.Cli.Tests.Pipelines;

/// <summary>The pipeline API as a library user meets it: options in, progress and log lines out, a typed result back.</summary>
public sealed class DistilleryPipelineTests : IDisposable
{
    private readonly ScratchFolder scratch = new("pipeline-tests");

    public void Dispose() => scratch.Dispose();

    [SharedDataFact("stories260K/stories260K.bin")]
    public async Task Export_reports_progress_logs_its_phases_and_returns_what_it_wrote()
    {
        var log = new RecordingLoggerFactory();
        var progress = new Recorder<PipelineProgress>();
        var spec = "llama2c:" + SharedTestData.Get("stories260K/stories260K.bin");
        var output = Path.Combine(scratch.Path, "hf");

        var result = await DistilleryPipeline.ExportAsync(
            new ExportOptions { Model = spec, Format = ExportFormat.Safetensors, Output = output, WeightType = ExportWeightType.F16, LoggerFactory = log }, progress);

        Assert.Equal(spec, result.Source);
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));
        // 260K parameters in f16 are about 520 KB; the folder holds them and the tokenizer.
        Assert.InRange(result.Bytes, 500_000, 2_000_000);
        Assert.Null(result.Check);
        Assert.All(progress.Values, p => Assert.Equal(PipelineStage.Export, p.Stage));
        Assert.Contains(progress.Values, p => p.Message.StartsWith("writing ", StringComparison.Ordinal));
        Assert.Equal(["export: " + spec + " as Safetensors (F16) to " + output, $"export: wrote {result.Bytes} bytes; llama.cpp check not run"],
            log.Lines.Where(l => l.Category == typeof(DistilleryPipeline).FullName).Select(l => l.Message));
    }

    [Fact]
    public async Task A_format_and_precision_that_do_not_go_together_fail_before_anything_is_loaded()
    {
        var options = new ExportOptions { Model = "checkpoint:/nonexistent", Format = ExportFormat.Gguf, Output = Path.Combine(scratch.Path, "x.gguf"), WeightType = ExportWeightType.BF16 };
        var error = await Assert.ThrowsAsync<InputException>(() => DistilleryPipeline.ExportAsync(options));
        Assert.Contains("--dtype", error.Message, StringComparison.Ordinal);
    }

    [Trait("Speed", "Slow")]
    [SharedDataFact("stories260K/stories260K.bin")]
    public async Task Generate_labels_the_prompts_and_cancelling_training_leaves_a_resume_state_and_the_loss_curves()
    {
        var teacher = SharedTestData.Get("stories260K/stories260K.bin");
        var prompts = Path.Combine(scratch.Path, "prompts.txt");
        await File.WriteAllLinesAsync(prompts, Enumerable.Range(0, 8).Select(i => $"Once upon a time, {i} cats"));
        var generated = new Recorder<PipelineProgress>();
        var data = await DistilleryPipeline.GenerateAsync(new GenerateOptions
        {
            TeacherSpec = "llama2c:" + teacher,
            Labeling = new LabelingOptions { PromptsPath = prompts, OutputDirectory = Path.Combine(scratch.Path, "data"), Sampling = new() { MaxTokens = 24, TopLogprobs = 3, Seed = 1 } },
        }, generated);
        Assert.Equal((8, 8, 0), (data.Summary.RowsDone, data.Summary.Answered, data.Summary.Failed));
        Assert.Equal((8L, 8L), (generated.Values[^1].Completed, generated.Values[^1].Total));

        using var cancel = new CancellationTokenSource();
        var trained = new Recorder<PipelineProgress>(p => { if (p.Completed == 3) cancel.Cancel(); });
        var config = new LmTrainingConfig
        {
            Data = data.DatasetDirectory, Out = Path.Combine(scratch.Path, "student"), Mode = LmMode.Topk, Tokenizer = Path.Combine(Path.GetDirectoryName(teacher)!, "tok512.bin"),
            ChatTemplate = "plain", Steps = 50, BatchSize = 2, SeqLen = 48, Seed = 1,
        };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => DistilleryPipeline.TrainAsync(new TrainOptions { Config = config }, trained, cancel.Token));

        Assert.Equal("topk step 1/50", string.Join(' ', trained.Values[0].Message.Split(' ').Take(3)));
        Assert.True(Directory.Exists(ResumeStateStore.Root(config.Out)), "no resume state after cancelling");
        Assert.True(File.Exists(Path.Combine(config.Out, LossCurvePlot.FileName)), "no loss curves after cancelling");
    }

    /// <summary>Keeps what is reported, synchronously (<see cref="Progress{T}"/> would post it to the thread pool).</summary>
    private sealed class Recorder<T>(Action<T>? then = null) : IProgress<T>
    {
        private readonly ConcurrentQueue<T> values = new();

        public IReadOnlyList<T> Values => [.. values];

        public void Report(T value)
        {
            values.Enqueue(value);
            then?.Invoke(value);
        }
    }

    /// <summary>A logger factory that keeps every line it is given, with its category.</summary>
    private sealed class RecordingLoggerFactory : ILoggerFactory
    {
        private readonly ConcurrentQueue<(string Category, string Message)> lines = new();

        public IReadOnlyList<(string Category, string Message)> Lines => [.. lines];

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines);

        public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<(string, string)> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue((category, formatter(state, exception)));
        }
    }
}
