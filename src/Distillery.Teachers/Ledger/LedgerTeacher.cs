using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Text.Json;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Ledger;
using Distillery.Core.Pricing;
using Distillery.Core.Provenance;
using Distillery.Teachers.Telemetry;

namespace Distillery.Teachers.Ledger;

/// <summary>
/// The ledger as a teacher wrapper: a request the ledger holds as answered is answered from it without calling the inner
/// teacher; any other is recorded as sending, sent, and recorded as answered (with its cost) or failed. A request cancelled
/// while in flight stays pending, and the next run sends it again. <see cref="RequestTrace.Ledger"/> says which happened.
/// </summary>
/// <remarks>
/// An answer is returned as soon as it arrives: one loop records answers in the background, those that arrived together in
/// shared commits, so the next request never waits for the last answer to be written. <see cref="LedgerReceipt.Recorded"/>
/// completes when an answer is durable; disposing waits until every answer handed back is recorded.
/// </remarks>
public sealed class LedgerTeacher : ITeacher, IAsyncDisposable
{
    private readonly ITeacher inner;
    private readonly TeacherLedger ledger;
    private readonly ModelPrice price;
    private readonly TimeProvider clock;
    private readonly ConcurrentDictionary<string, byte> answered;
    private readonly Channel<PendingAnswer> answers = Channel.CreateUnbounded<PendingAnswer>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task recorder;

    private LedgerTeacher(ITeacher inner, TeacherLedger ledger, ModelPrice price, IEnumerable<string> answeredHashes, TimeProvider? time)
    {
        this.inner = inner;
        this.ledger = ledger;
        this.price = price;
        clock = time ?? TimeProvider.System;
        answered = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
        foreach (var hash in answeredHashes) answered.TryAdd(hash, 0);
        recorder = Task.Run(RecordAnswersAsync, CancellationToken.None);
    }

    /// <summary>Wraps <paramref name="inner"/> (already wrapped for retries and rate limits) with a ledger, pricing answers by <paramref name="price"/>; reads which requests the ledger holds answered.</summary>
    public static async Task<LedgerTeacher> OpenAsync(ITeacher inner, TeacherLedger ledger, ModelPrice price, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(price);
        return new LedgerTeacher(inner, ledger, price, await ledger.AnsweredHashesAsync(cancellationToken), time);
    }

    /// <inheritdoc />
    public TeacherIdentity Identity => inner.Identity;

    /// <summary>Whether the ledger holds this request's answer, so that answering it sends nothing and costs nothing.</summary>
    public bool Holds(TeacherRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return answered.ContainsKey(KeyOf(request).Hash);
    }

    /// <inheritdoc />
    public async Task<Completion> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var key = KeyOf(request);
        if (answered.ContainsKey(key.Hash) && await FromLedgerAsync(key, request, cancellationToken) is { } stored) return stored;
        return await SendAsync(key, request, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        answers.Writer.TryComplete();
        await recorder;
    }

    private LedgerKey KeyOf(TeacherRequest request) => request.Key ?? LedgerKey.For(inner.Identity, request.Messages, request.Sampling, sample: 0);

    /// <summary>The stored answer, or null where the ledger holds none after all.</summary>
    private async Task<Completion?> FromLedgerAsync(LedgerKey key, TeacherRequest request, CancellationToken cancellationToken)
    {
        var entry = await ledger.FindAsync(key.Hash, cancellationToken);
        if (entry is not { Status: LedgerStatus.Answered, Response: { } stored }) return null;
        var completion = JsonSerializer.Deserialize<Completion>(stored, DatasetJson.Compact)
                         ?? throw new DistilleryException($"{ledger.Path}: request {key.Hash} holds no response; the ledger was changed by hand");
        request.Trace.Ledger = new LedgerReceipt(FromLedger: true, entry.CostUsd, entry.Completed ?? entry.Created, Task.CompletedTask);
        TeacherCall.FromLedger(inner.Identity);
        return completion;
    }

    /// <summary>Records the request as sending, sends it, and hands its answer to the recorder (or records the failure).</summary>
    private async Task<Completion> SendAsync(LedgerKey key, TeacherRequest request, CancellationToken cancellationToken)
    {
        await ledger.RecordSendingAsync(key.Hash, inner.Identity, key.Canonical, clock.GetUtcNow(), cancellationToken);
        using var call = new TeacherCall(inner.Identity, request.Sampling, clock);
        Completion answer;
        try
        {
            answer = await inner.CompleteAsync(request, cancellationToken);
        }
        catch (TeacherException e)
        {
            call.Failed(e, request.Trace.Retries);
            await ledger.RecordFailedAsync(key.Hash, e.Message, request.Trace.Retries, clock.GetUtcNow(), CancellationToken.None);
            throw;
        }
        var pending = new PendingAnswer(key.Hash, answer, price.Cost(answer.Usage), request.Trace.Retries, clock.GetUtcNow());
        request.Trace.Ledger = new LedgerReceipt(FromLedger: false, pending.CostUsd, pending.Completed, pending.Recorded.Task);
        call.Answered(answer, pending.CostUsd, request.Trace.Retries);
        // Paid for: recorded whatever happens next, even on Ctrl-C.
        if (!answers.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(LedgerTeacher), "an answer arrived after the ledger wrapper was disposed");
        return answer;
    }

    /// <summary>Records answers as they arrive; those that arrived together are recorded together, so their ledger writes share commits.</summary>
    private async Task RecordAnswersAsync()
    {
        var reader = answers.Reader;
        var batch = new List<Task>();
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            while (reader.TryRead(out var pending)) batch.Add(RecordAsync(pending));
            await Task.WhenAll(batch);
            batch.Clear();
        }
    }

    private async Task RecordAsync(PendingAnswer pending)
    {
        try
        {
            var (answer, hash) = (pending.Answer, pending.Hash);
            await ledger.RecordAnsweredAsync(hash, JsonSerializer.Serialize(answer, DatasetJson.Compact), answer.Model, answer.Usage, pending.CostUsd, pending.Retries,
                pending.Completed, CancellationToken.None);
            answered.TryAdd(hash, 0);
            pending.Recorded.TrySetResult();
        }
        catch (Exception e)
        {
            pending.Recorded.TrySetException(e); // the caller that awaits the receipt learns of it (a ledger or disk error)
        }
    }

    /// <summary>An answer on its way into the ledger.</summary>
    private sealed record PendingAnswer(string Hash, Completion Answer, decimal CostUsd, int Retries, DateTimeOffset Completed)
    {
        public TaskCompletionSource Recorded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
