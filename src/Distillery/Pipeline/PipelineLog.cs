using System;
using Microsoft.Extensions.Logging;

namespace Distillery.Pipeline;

/// <summary>The pipeline's log messages, one per phase (source-generated, so a disabled level costs nothing).</summary>
internal static partial class PipelineLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "generate: {Teacher} labels {Prompts} into {Dataset}")]
    public static partial void GenerateStarted(ILogger logger, string teacher, string prompts, string dataset);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information,
        Message = "generate: {RowsDone} of {RowsTotal} rows ({Answered} answered, {FromLedger} from the ledger, {Failed} failed), {CompletionTokens} completion tokens, ${CostUsd} in {Elapsed}")]
    public static partial void GenerateFinished(ILogger logger, int rowsDone, int rowsTotal, int answered, int fromLedger, int failed, long completionTokens, decimal costUsd, TimeSpan elapsed);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "train: {Mode} on {Dataset} into {Output}, {Steps} steps")]
    public static partial void TrainStarted(ILogger logger, string mode, string dataset, string output, int steps);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "train: {Steps} steps, final loss {FinalLoss}, held-out cross-entropy {EvalCrossEntropy}; student in {ModelDirectory}")]
    public static partial void TrainFinished(ILogger logger, int steps, double finalLoss, double? evalCrossEntropy, string modelDirectory);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "evaluate: {Models} model(s) on {Data}")]
    public static partial void EvaluateStarted(ILogger logger, int models, string data);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "evaluate: {Name} cross-entropy {CrossEntropy}")]
    public static partial void ModelScored(ILogger logger, string name, double? crossEntropy);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "export: {Source} as {Format} ({WeightType}) to {Output}")]
    public static partial void ExportStarted(ILogger logger, string source, ExportFormat format, ExportWeightType weightType, string output);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "export: wrote {Bytes} bytes; llama.cpp check {Check}")]
    public static partial void ExportFinished(ILogger logger, long bytes, string check);
}
