using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;

namespace Distillery.Server;

/// <summary>Thread-safe counts of what the server answered: completions, tokens and errors by status.</summary>
public sealed class ServerStats
{
    private readonly ConcurrentDictionary<int, int> errors = new();
    private long completions;
    private long promptTokens;
    private long completionTokens;
    private long cancelled;

    /// <summary>Completions (choices) generated or scored.</summary>
    public long Completions => Interlocked.Read(ref completions);

    /// <summary>Prompt tokens processed.</summary>
    public long PromptTokens => Interlocked.Read(ref this.promptTokens);

    /// <summary>Completion tokens generated.</summary>
    public long CompletionTokens => Interlocked.Read(ref this.completionTokens);

    /// <summary>Generations stopped because the client went away.</summary>
    public long Cancelled => Interlocked.Read(ref cancelled);

    /// <summary>Error responses by HTTP status.</summary>
    public IReadOnlyDictionary<int, int> Errors => new Dictionary<int, int>(errors);

    /// <summary>Counts one finished completion.</summary>
    public void CountCompletion(int promptTokens, int completionTokens)
    {
        Interlocked.Increment(ref completions);
        Interlocked.Add(ref this.promptTokens, promptTokens);
        Interlocked.Add(ref this.completionTokens, completionTokens);
    }

    /// <summary>Counts one generation cancelled by a disconnect.</summary>
    public void CountCancelled() => Interlocked.Increment(ref cancelled);

    /// <summary>Counts one error response.</summary>
    public void CountError(int status) => errors.AddOrUpdate(status, 1, (_, n) => n + 1);
}
