using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Tokens;
using Distillery.Teachers.Ledger;

namespace Distillery.Teachers;

/// <summary>What is asked of a teacher: the chat so far and how to sample the answer. <see cref="Trace"/> collects what wrappers did on the way.</summary>
public sealed record TeacherRequest(IReadOnlyList<ChatMessage> Messages, SamplingParameters Sampling)
{
    /// <summary>Counts filled in by wrappers (retries) while this request is served.</summary>
    public RequestTrace Trace { get; init; } = new();

    /// <summary>The request's ledger key, computed ahead (a run hashes all its requests at once); null: the ledger wrapper computes it as sample 0.</summary>
    public LedgerKey? Key { get; init; }

    /// <summary>A rough count of the prompt's tokens (4 characters a token, 4 per message) for rate limits and budgets before the server counts them.</summary>
    public int EstimatedPromptTokens()
    {
        var total = 0;
        foreach (var message in Messages) total += 4 + TokenEstimate.Of(message.Content);
        return Math.Max(1, total);
    }
}

/// <summary>What happened while one request was served: how many retries it took, and what the ledger did with it.</summary>
public sealed class RequestTrace
{
    private readonly TaskCompletionSource<LedgerReceipt> receipt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int retries;
    private LedgerReceipt? ledger;

    /// <summary>Retries made for this request.</summary>
    public int Retries => retries;

    /// <summary>What the ledger wrapper did with this request; null where none served it.</summary>
    public LedgerReceipt? Ledger
    {
        get => ledger;
        set
        {
            ledger = value;
            if (value is not null) receipt.TrySetResult(value);
        }
    }

    /// <summary>Completes with the first <see cref="Ledger"/> the ledger wrapper gives: a teacher that hands on many answers at once (the Batch API's) waits on it to hand on no more than the ledger keeps up with.</summary>
    public Task<LedgerReceipt> LedgerGiven => receipt.Task;

    /// <summary>Counts one retry.</summary>
    public void AddRetry() => System.Threading.Interlocked.Increment(ref retries);
}
