using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;

namespace Distillery.Core.Ledger;

/// <summary>Copies a WAL database's log back into the database file on a background connection, so the writer's commits never pay for a checkpoint (its copying and fsyncs).</summary>
/// <remarks>The writing connection turns automatic checkpoints off and calls <see cref="Committed"/> after each commit; every <c>commitsPerCheckpoint</c> commits a passive checkpoint runs here, beside the writer, without blocking it.</remarks>
internal sealed class WalCheckpointer : IAsyncDisposable
{
    private readonly SqliteConnection connection;
    private readonly int commitsPerCheckpoint;
    private readonly SemaphoreSlim due = new(0, 1);
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;
    private int commits;

    private WalCheckpointer(SqliteConnection connection, int commitsPerCheckpoint)
    {
        this.connection = connection;
        this.commitsPerCheckpoint = commitsPerCheckpoint;
        loop = Task.Run(RunAsync);
    }

    /// <summary>Opens a second connection to the database and starts the background loop.</summary>
    public static async Task<WalCheckpointer> StartAsync(string connectionString, int commitsPerCheckpoint, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return new WalCheckpointer(connection, commitsPerCheckpoint);
    }

    /// <summary>Counts one commit by the writer; every so many, wakes the loop for a checkpoint.</summary>
    public void Committed()
    {
        if (Interlocked.Increment(ref commits) % commitsPerCheckpoint != 0) return;
        try
        {
            due.Release();
        }
        catch (SemaphoreFullException)
        {
            // A checkpoint is already due; it will take these commits too.
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await loop;
        await connection.DisposeAsync();
        due.Dispose();
        stop.Dispose();
    }

    private async Task RunAsync()
    {
        while (true)
        {
            try
            {
                await due.WaitAsync(stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                using var command = connection.CreateCommand();
                command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
                command.ExecuteNonQuery();
            }
            catch (SqliteException)
            {
                // A checkpoint that cannot run now (the database is busy) runs at the next one, or when the writer closes.
            }
        }
    }
}
