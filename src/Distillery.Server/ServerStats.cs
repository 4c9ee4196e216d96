using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;

namespace Distillery.Server;

/// <summary>Thread-safe counts of what the server answered: completions, tokens and errors by status.</summary>
public sealed class ServerStats
{
    private readonly ConcurrentDictionary<int, int> _errors = new();
    private long _completions;
    private long _promptTokens;
    private long _completionTokens;
    private long _cancelled;

    /// <summary>Completions (choices) generated or scored.</summary>
    public long Completions => Interlocked.Read(ref _completions);

    /// <summary>Prompt tokens processed.</summary>
    public long PromptTokens => Interlocked.Read(ref _promptTokens);

    /// <summary>Completion tokens generated.</summary>
    public long CompletionTokens => Interlocked.Read(ref _completionTokens);

    /// <summary>Generations stopped because the client went away.</summary>
    public long Cancelled => Interlocked.Read(ref _cancelled);

    /// <summary>Error responses by HTTP status.</summary>
    public IReadOnlyDictionary<int, int> Errors => new Dictionary<int, int>(_errors);

    /// <summary>Counts one finished completion.</summary>
    public void CountCompletion(int promptTokens, int completionTokens)
    {
        Interlocked.Increment(ref _completions);
        Interlocked.Add(ref _promptTokens, promptTokens);
        Interlocked.Add(ref _completionTokens, completionTokens);
    }

    /// <summary>Counts one generation cancelled by a disconnect.</summary>
    public void CountCancelled() => Interlocked.Increment(ref _cancelled);

    /// <summary>Counts one error response.</summary>
    public void CountError(int status) => _errors.AddOrUpdate(status, 1, (_, n) => n + 1);
}
