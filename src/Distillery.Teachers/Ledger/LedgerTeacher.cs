using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Ledger;
using Distillery.Core.Pricing;
using Distillery.Core.Provenance;
using Distillery.Teachers.Telemetry;

namespace Distillery.Teachers.Ledger;

/// <summary>
/// The ledger as a teacher wrapper: a request the ledger holds as answered is answered from it without calling the inner
/// teacher; any other is claimed, sent, and recorded as answered (with its cost) or failed. A request cancelled while in
/// flight is released, and the next run (or another process) sends it again. <see cref="RequestTrace.Ledger"/> says which happened.
/// </summary>
/// <remarks>
/// Processes sharing a ledger each claim a request before sending it (<see cref="LedgerLease"/>): this wrapper renews its claims
/// every third of the lease while it is open, so a claim runs out only when its process died. A request another live process
/// holds is skipped by <see cref="TryCompleteAsync"/> and waited for by <see cref="CompleteAsync"/> (answered from the ledger
/// once that process records it, or taken over once its claim runs out).
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
    private readonly LedgerLease lease;
    private readonly CancellationTokenSource closing = new();
    private readonly Task renewer;

    private LedgerTeacher(ITeacher inner, TeacherLedger ledger, ModelPrice price, IEnumerable<string> answeredHashes, LedgerLease lease, TimeProvider? time)
    {
        this.inner = inner;
        this.ledger = ledger;
        this.price = price;
        this.lease = lease;
        clock = time ?? TimeProvider.System;
        answered = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
        foreach (var hash in answeredHashes) answered.TryAdd(hash, 0);
        recorder = Task.Run(RecordAnswersAsync, CancellationToken.None);
        renewer = Task.Run(RenewClaimsAsync, CancellationToken.None);
    }

    /// <summary>
    /// Wraps <paramref name="inner"/> (already wrapped for retries and rate limits) with a ledger, pricing answers by <paramref name="price"/>;
    /// reads which requests the ledger holds answered. Claims are this process's, for <paramref name="lease"/> (default: <see cref="LedgerLease.ForThisProcess"/>).
    /// </summary>
    public static async Task<LedgerTeacher> OpenAsync(ITeacher inner, TeacherLedger ledger, ModelPrice price, TimeProvider? time = null, LedgerLease? lease = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(price);
        return new LedgerTeacher(inner, ledger, price, await ledger.AnsweredHashesAsync(cancellationToken), lease ?? LedgerLease.ForThisProcess(), time);
    }

    /// <summary>How often a request held by another live process is looked at again while waiting for it.</summary>
    public static TimeSpan WaitPoll { get; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The shortest wait before a held request is looked at again.</summary>
    private static readonly TimeSpan MinimumWait = TimeSpan.FromMilliseconds(10);

    /// <inheritdoc />
    public TeacherIdentity Identity => inner.Identity;

    /// <summary>Whether the ledger holds this request's answer, so that answering it sends nothing and costs nothing.</summary>
    public bool Holds(TeacherRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return answered.ContainsKey(KeyOf(request).Hash);
    }

    /// <summary>Answers the request (from the ledger, or by sending it), waiting while another live process holds it: until that process records its answer, or its claim runs out and this one takes it over.</summary>
    public async Task<Completion> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        while (true)
        {
            var (answer, heldUntil) = await AttemptAsync(request, cancellationToken);
            if (answer is not null) return answer;
            var wait = heldUntil!.Value - clock.GetUtcNow();
            // Never a zero wait: a claim is looked at again only after the clock has moved (a lease runs out at its end, not before).
            await Task.Delay(wait < MinimumWait ? MinimumWait : wait > WaitPoll ? WaitPoll : wait, clock, cancellationToken);
        }
    }

    /// <summary>Answers the request like <see cref="CompleteAsync"/>, or returns null at once when another live process holds it (the caller comes back for it later).</summary>
    public async Task<Completion?> TryCompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return (await AttemptAsync(request, cancellationToken)).Answer;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        answers.Writer.TryComplete();
        await recorder;
        await closing.CancelAsync();
        await renewer;
        // Claims still pending (requests cancelled in flight) go back at once, not when their lease runs out.
        try
        {
            await ledger.ReleaseAsync(lease.Owner, CancellationToken.None);
        }
        catch (DistilleryException)
        {
            // The ledger is gone (a lost database): the claims run out by themselves.
        }
        closing.Dispose();
    }

    /// <summary>One try: the stored answer, a fresh one, or (null, when) for a request another live process holds until then.</summary>
    private async Task<(Completion? Answer, DateTimeOffset? HeldUntil)> AttemptAsync(TeacherRequest request, CancellationToken cancellationToken)
    {
        var key = KeyOf(request);
        if (answered.ContainsKey(key.Hash) && await FromLedgerAsync(key, request, cancellationToken) is { } stored) return (stored, null);
        var claim = await ledger.ClaimAsync(key.Hash, inner.Identity, key.Canonical, lease, clock.GetUtcNow(), cancellationToken);
        switch (claim.Outcome)
        {
            case ClaimOutcome.Claimed:
                return (await SendAsync(key, request, cancellationToken), null);
            case ClaimOutcome.Answered:
                answered.TryAdd(key.Hash, 0); // another process answered it since this one started
                return await FromLedgerAsync(key, request, cancellationToken) is { } theirs ? (theirs, null) : (null, clock.GetUtcNow());
            default:
                return (null, claim.HeldUntil ?? clock.GetUtcNow());
        }
    }

    /// <summary>Renews this process's claims every third of the lease until the wrapper closes, so none runs out while it lives.</summary>
    private async Task RenewClaimsAsync()
    {
        using var timer = new PeriodicTimer(lease.Duration / 3, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(closing.Token))
            {
                try
                {
                    await ledger.RenewAsync(lease, clock.GetUtcNow(), closing.Token);
                }
                catch (DistilleryException)
                {
                    // A lost database: the request that next needs it reports the error; claims run out on their own.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Closing.
        }
    }

    private LedgerKey KeyOf(TeacherRequest request) => request.Key ?? LedgerKey.For(inner.Identity, request.Messages, request.Sampling, sample: 0);

    /// <summary>The stored answer, or null where the ledger holds none after all.</summary>
    private async Task<Completion?> FromLedgerAsync(LedgerKey key, TeacherRequest request, CancellationToken cancellationToken)
    {
        var entry = await ledger.FindAsync(key.Hash, cancellationToken);
        if (entry is not { Status: LedgerStatus.Answered, Response: { } completion }) return null;
        request.Trace.Ledger = new LedgerReceipt(FromLedger: true, entry.CostUsd, entry.Completed ?? entry.Created, Task.CompletedTask);
        TeacherCall.FromLedger(inner.Identity);
        return completion;
    }

    /// <summary>Sends a claimed request and hands its answer to the recorder (or records the failure).</summary>
    private async Task<Completion> SendAsync(LedgerKey key, TeacherRequest request, CancellationToken cancellationToken)
    {
        using var call = new TeacherCall(inner.Identity, request.Sampling, clock);
        Completion answer;
        try
        {
            // As the ledger will give it back (logprobs at float16): a run that resumes from the ledger sees what this one saw.
            answer = ResponseCodec.AtStoredPrecision(await inner.CompleteAsync(request, cancellationToken));
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
            await ledger.RecordAnsweredAsync(hash, answer, pending.CostUsd, pending.Retries, pending.Completed, CancellationToken.None);
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
