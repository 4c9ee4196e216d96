using System;

namespace Distillery.Teachers.Batch;

/// <summary>How <c>distill generate --batch</c> uses the Batch API: how often it polls, how long it gathers requests before cutting a file, and how big a file may be.</summary>
public sealed record BatchSettings
{
    /// <summary>The most requests OpenAI takes in one batch input file.</summary>
    public const int MaxRequestsLimit = 50_000;

    /// <summary>The largest batch input file OpenAI takes, in bytes.</summary>
    public const long MaxBytesLimit = 200L * 1024 * 1024;

    /// <summary>How often each live batch is looked at.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long no new request must arrive before the requests gathered so far go out as a file (a full file goes at once).</summary>
    public TimeSpan GatherWindow { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The most requests in one input file.</summary>
    public int MaxRequestsPerFile { get; init; } = MaxRequestsLimit;

    /// <summary>The largest input file, in bytes.</summary>
    public long MaxBytesPerFile { get; init; } = MaxBytesLimit;

    /// <summary>How many answers of a batch being collected may be on their way into the ledger at once (each place freed by the ledger wrapper's receipt); the rest of its output file waits unread.</summary>
    public int AnswersInFlight { get; init; } = 256;

    /// <summary>How many batches a request may go into (expired, failed, unreadable) before it is reported as failed.</summary>
    public int MaxRounds { get; init; } = 5;

    /// <summary>The default settings polling every <paramref name="interval"/>, gathering for no longer than that.</summary>
    public static BatchSettings Polling(TimeSpan interval)
    {
        var defaults = new BatchSettings();
        return defaults with { PollInterval = interval, GatherWindow = interval < defaults.GatherWindow ? interval : defaults.GatherWindow };
    }
}
