using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Distillery.Core.Ledger;

/// <summary>One SQL statement with its named parameters, waiting to be committed.</summary>
internal sealed record LedgerWrite(string Sql, (string Name, object Value)[] Parameters);

/// <summary>
/// Group commit: writes that arrive while another batch is being committed are committed together in one transaction,
/// so under concurrency the ledger pays one commit per burst, not per request, and no caller returns before its write
/// is durable. An urgent write (one a request waits on before it is sent) is committed before queued bulk writes
/// (stored answers), which go a few at a time.
/// </summary>
internal sealed class GroupCommit
{
    private const int BulkPerCommit = 4;
    private readonly SemaphoreSlim gate;
    private readonly Func<IReadOnlyList<LedgerWrite>, int[]> commit;
    private readonly List<Pending> urgent = [];
    private readonly List<Pending> bulk = [];
    private bool draining;
    private Task drainer = Task.CompletedTask;

    /// <summary>Commits through <paramref name="commit"/> (one transaction per call; rows changed per write) while holding <paramref name="gate"/>.</summary>
    public GroupCommit(SemaphoreSlim gate, Func<IReadOnlyList<LedgerWrite>, int[]> commit)
    {
        this.gate = gate;
        this.commit = commit;
    }

    /// <summary>Queues one write and returns the rows it changed once it is committed.</summary>
    public Task<int> WriteAsync(LedgerWrite write, bool isUrgent, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new Pending(write, new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously));
        bool lead;
        lock (urgent)
        {
            (isUrgent ? urgent : bulk).Add(pending);
            lead = !draining;
            draining = true;
        }
        // The first writer of a burst commits it, and every write queued meanwhile, on its own thread.
        return lead ? DrainThenAwaitAsync(pending) : pending.Done.Task;
    }

    /// <summary>Completes when a pool thread that carried on committing has finished.</summary>
    public Task IdleAsync()
    {
        lock (urgent) return drainer;
    }

    private async Task<int> DrainThenAwaitAsync(Pending own)
    {
        await DrainAsync(own);
        return await own.Done.Task;
    }

    /// <summary>
    /// Commits queued writes until none are left. Once <paramref name="own"/> is committed, a pool thread carries on with
    /// the rest, so the writer that led (often a request about to be sent) goes on at once instead of committing other
    /// callers' answers first.
    /// </summary>
    private async Task DrainAsync(Pending? own)
    {
        await gate.WaitAsync(CancellationToken.None);
        try
        {
            while (NextBatch(own) is { } batch) Commit(batch);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The next writes to commit, or null when the queue is empty or a pool thread takes over.</summary>
    private Pending[]? NextBatch(Pending? own)
    {
        lock (urgent)
        {
            if (urgent.Count == 0 && bulk.Count == 0)
            {
                draining = false;
                return null;
            }
            if (own is { Done.Task.IsCompleted: true })
            {
                drainer = Task.Run(() => DrainAsync(null)); // draining stays set: that pool thread leads now
                return null;
            }
            if (urgent.Count > 0)
            {
                Pending[] all = [.. urgent];
                urgent.Clear();
                return all;
            }
            // A few stored answers at a time, so a request about to be sent never waits behind many.
            Pending[] some = [.. bulk.GetRange(0, Math.Min(BulkPerCommit, bulk.Count))];
            bulk.RemoveRange(0, some.Length);
            return some;
        }
    }

    private void Commit(Pending[] batch)
    {
        int[] changed;
        try
        {
            changed = commit(Array.ConvertAll(batch, p => p.Write));
        }
        catch (Exception e)
        {
            foreach (var write in batch) write.Done.TrySetException(e);
            return;
        }
        for (var i = 0; i < batch.Length; i++) batch[i].Done.TrySetResult(changed[i]);
    }

    private sealed record Pending(LedgerWrite Write, TaskCompletionSource<int> Done);
}
