using System;

namespace Distillery.Pipeline;

/// <summary>Passes a lower layer's progress on as <see cref="PipelineProgress"/>, synchronously on the reporting thread.</summary>
internal sealed class MappedProgress<T>(IProgress<PipelineProgress> target, Func<T, PipelineProgress> map) : IProgress<T>
{
    /// <summary>An adapter onto <paramref name="target"/>, or null where nobody listens.</summary>
    public static MappedProgress<T>? To(IProgress<PipelineProgress>? target, Func<T, PipelineProgress> map) =>
        target is null ? null : new MappedProgress<T>(target, map);

    public void Report(T value) => target.Report(map(value));
}
