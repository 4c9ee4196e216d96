using System;
using Distillery.Teachers;
using Distillery.Teachers.Batch;
using Distillery.Teachers.Labeling;

namespace Distillery.Pipeline;

/// <summary>What <see cref="DistilleryPipeline.GenerateAsync"/> does: which teacher labels which prompts into which dataset folder.</summary>
public sealed record GenerateOptions : PipelineOptions
{
    /// <summary>The teacher's spec (<c>openai:MODEL</c>, <c>llama2c:PATH</c>, <c>checkpoint:DIR</c>, <c>gguf:PATH</c>), built with <see cref="TeacherSettings"/>; ignored where <see cref="Teacher"/> is given.</summary>
    public string? TeacherSpec { get; init; }

    /// <summary>A teacher already built (for example <see cref="TeacherFactory.FromChatClient"/> over any <c>IChatClient</c>), used as it is.</summary>
    public ITeacher? Teacher { get; init; }

    /// <summary>How a teacher named by <see cref="TeacherSpec"/> is reached and wrapped (endpoint, key variable, timeout, retries, rate limits, chat template).</summary>
    public TeacherSettings TeacherSettings { get; init; } = new();

    /// <summary>Send the requests through the OpenAI Batch API with these settings (an <c>openai:MODEL</c> <see cref="TeacherSpec"/>, at batch prices); null sends them one by one.</summary>
    public BatchSettings? Batch { get; init; }

    /// <summary>Where the batches stand (states and counts, warnings) while <see cref="Batch"/> is set.</summary>
    public IProgress<BatchProgress>? BatchProgress { get; init; }

    /// <summary>The labeling run: prompts, dataset folder, ledger, sampling, samples, concurrency, price, budget and terms policy.</summary>
    public required LabelingOptions Labeling { get; init; }
}
