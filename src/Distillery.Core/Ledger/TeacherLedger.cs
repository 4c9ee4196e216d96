using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Provenance;
using Microsoft.Data.Sqlite;

namespace Distillery.Core.Ledger;

/// <summary>The ledger, <c>ledger.db</c> (SQLite, WAL): every teacher request recorded before it is sent and again when it completes, keyed by its request hash.</summary>
/// <remarks>A request the ledger holds as answered is never sent again: its stored response answers it. Safe for concurrent callers in one process; other processes wait on SQLite's lock.</remarks>
public sealed class TeacherLedger : IAsyncDisposable
{
    private const string Columns = "hash, provider, model, endpoint, request, status, response, model_reported, prompt_tokens, completion_tokens, cost_usd, sends, retries, error, created_utc, sent_utc, completed_utc, duration_ms";
    private readonly SqliteConnection connection;
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly Dictionary<string, SqliteCommand> prepared = new(StringComparer.Ordinal);
    private const int BulkPerCommit = 4;
    private const int CommitsPerCheckpoint = 128;
    private readonly List<PendingWrite> urgent = [];
    private readonly List<PendingWrite> bulk = [];
    private bool draining;
    private Task drainer = Task.CompletedTask;
    private readonly WalCheckpointer checkpointer;

    private TeacherLedger(string path, SqliteConnection connection, WalCheckpointer checkpointer)
    {
        Path = path;
        this.connection = connection;
        this.checkpointer = checkpointer;
    }

    /// <summary>The ledger file.</summary>
    public string Path { get; }

    /// <summary>Opens or creates a ledger file in WAL mode.</summary>
    public static async Task<TeacherLedger> OpenAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        var builder = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false, DefaultTimeout = 30 };
        var connection = new SqliteConnection(builder.ToString());
        try
        {
            await connection.OpenAsync(cancellationToken);
            // Checkpoints run on a second connection (WalCheckpointer): one inside a commit stalls it for milliseconds.
            await ExecuteAsync(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; PRAGMA wal_autocheckpoint=0;", cancellationToken);
            await ExecuteAsync(connection, """
                CREATE TABLE IF NOT EXISTS requests (
                    hash TEXT PRIMARY KEY,
                    provider TEXT NOT NULL,
                    model TEXT NOT NULL,
                    endpoint TEXT NOT NULL,
                    request TEXT NOT NULL,
                    status TEXT NOT NULL,
                    response TEXT,
                    model_reported TEXT,
                    prompt_tokens INTEGER NOT NULL DEFAULT 0,
                    completion_tokens INTEGER NOT NULL DEFAULT 0,
                    cost_usd TEXT NOT NULL DEFAULT '0',
                    sends INTEGER NOT NULL DEFAULT 0,
                    retries INTEGER NOT NULL DEFAULT 0,
                    error TEXT,
                    created_utc TEXT NOT NULL,
                    sent_utc TEXT,
                    completed_utc TEXT,
                    duration_ms REAL);
                """, cancellationToken);
            return new TeacherLedger(path, connection, await WalCheckpointer.StartAsync(builder.ToString(), CommitsPerCheckpoint, cancellationToken));
        }
        catch (SqliteException e)
        {
            await connection.DisposeAsync();
            throw new DistilleryException($"{path}: cannot open the ledger ({ErrorText.FirstLine(e)}); is it a Distillery ledger.db?", e);
        }
    }

    /// <summary>The entry for a request hash, or null when the ledger has never seen it.</summary>
    public async Task<LedgerEntry?> FindAsync(string hash, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        await gate.WaitAsync(cancellationToken);
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {Columns} FROM requests WHERE hash = $hash";
            command.Parameters.AddWithValue("$hash", hash);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? ReadEntry(reader) : null;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The hashes of every answered request (one query, for a run to know up front what it need not send).</summary>
    public async Task<IReadOnlySet<string>> AnsweredHashesAsync(CancellationToken cancellationToken = default)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT hash FROM requests WHERE status = 'answered'";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var hashes = new HashSet<string>(StringComparer.Ordinal);
            while (await reader.ReadAsync(cancellationToken)) hashes.Add(reader.GetString(0));
            return hashes;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Records that a request is about to be sent (status pending, one more send); refuses a request already answered.</summary>
    public async Task RecordSendingAsync(string hash, TeacherIdentity teacher, string canonicalRequest, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(canonicalRequest);
        var changed = await WriteAsync("""
            INSERT INTO requests (hash, provider, model, endpoint, request, status, sends, created_utc, sent_utc)
            VALUES ($hash, $provider, $model, $endpoint, $request, 'pending', 1, $now, $now)
            ON CONFLICT(hash) DO UPDATE SET status = 'pending', sends = sends + 1, sent_utc = $now, error = NULL
            WHERE status <> 'answered'
            """, isUrgent: true, cancellationToken,
            ("$hash", hash), ("$provider", teacher.Provider), ("$model", teacher.Model), ("$endpoint", teacher.Endpoint),
            ("$request", canonicalRequest), ("$now", Format(now)));
        if (changed == 0) throw new InvalidOperationException($"request {hash} is already answered in the ledger; answer it from there");
    }

    /// <summary>Records a request's answer: the response JSON, the model as reported, usage and cost.</summary>
    public async Task RecordAnsweredAsync(string hash, string response, string modelReported, TokenUsage usage, decimal costUsd, int retries, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(usage);
        await WriteAsync("""
            UPDATE requests SET status = 'answered', response = $response, model_reported = $model, prompt_tokens = $prompt,
                completion_tokens = $completion, cost_usd = $cost, retries = retries + $retries, error = NULL, completed_utc = $now,
                duration_ms = (julianday($now) - julianday(sent_utc)) * 86400000.0
            WHERE hash = $hash
            """, isUrgent: false, cancellationToken,
            ("$hash", hash), ("$response", response), ("$model", modelReported), ("$prompt", usage.PromptTokens),
            ("$completion", usage.CompletionTokens), ("$cost", costUsd.ToString(CultureInfo.InvariantCulture)), ("$retries", retries), ("$now", Format(now)));
    }

    /// <summary>Records that a request failed, with the error (a later run sends it again).</summary>
    public async Task RecordFailedAsync(string hash, string error, int retries, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(error);
        await WriteAsync("""
            UPDATE requests SET status = 'failed', error = $error, retries = retries + $retries, completed_utc = $now,
                duration_ms = (julianday($now) - julianday(sent_utc)) * 86400000.0
            WHERE hash = $hash AND status <> 'answered'
            """, isUrgent: true, cancellationToken, ("$hash", hash), ("$error", error), ("$retries", retries), ("$now", Format(now)));
    }

    /// <summary>Every entry, oldest first.</summary>
    public async Task<IReadOnlyList<LedgerEntry>> ReadAllAsync(CancellationToken cancellationToken = default)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {Columns} FROM requests ORDER BY created_utc, hash";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var entries = new List<LedgerEntry>();
            while (await reader.ReadAsync(cancellationToken)) entries.Add(ReadEntry(reader));
            return entries;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The SQLite journal mode in force ("wal").</summary>
    public async Task<string> JournalModeAsync(CancellationToken cancellationToken = default)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode";
            return (string)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Task last;
        lock (urgent) last = drainer;
        await last; // a pool thread may still be finishing a drain the last writer handed over
        await checkpointer.DisposeAsync();
        foreach (var command in prepared.Values) await command.DisposeAsync();
        await connection.DisposeAsync(); // the last connection to close checkpoints what is left and removes the WAL
        gate.Dispose();
    }

    /// <summary>
    /// Runs one write and returns the rows it changed once it is committed. Writes that arrive while another batch is being
    /// committed are committed together in one transaction (group commit): under concurrency the ledger pays one commit per
    /// burst, not per request, and no caller returns before its write is in the WAL. An urgent write (one a request waits on
    /// before it is sent) is committed before queued bulk writes (stored answers), which go a few at a time.
    /// </summary>
    private Task<int> WriteAsync(string sql, bool isUrgent, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var write = new PendingWrite(sql, parameters, new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously));
        bool lead;
        lock (urgent)
        {
            (isUrgent ? urgent : bulk).Add(write);
            lead = !draining;
            draining = true;
        }
        // The first writer of a burst commits it, and every write queued meanwhile, on its own thread.
        return lead ? DrainThenAwaitAsync(write) : write.Done.Task;
    }

    private async Task<int> DrainThenAwaitAsync(PendingWrite own)
    {
        await DrainAsync(own);
        return await own.Done.Task;
    }

    /// <summary>
    /// Commits queued writes until none are left. Once <paramref name="own"/> is committed, a pool thread carries on with
    /// the rest, so the writer that led (often a request about to be sent) goes on at once instead of committing other
    /// callers' answers first.
    /// </summary>
    private async Task DrainAsync(PendingWrite? own)
    {
        await gate.WaitAsync(CancellationToken.None);
        try
        {
            while (true)
            {
                PendingWrite[] batch;
                lock (urgent)
                {
                    if (urgent.Count == 0 && bulk.Count == 0)
                    {
                        draining = false;
                        break;
                    }
                    if (own is { Done.Task.IsCompleted: true })
                    {
                        drainer = Task.Run(() => DrainAsync(null)); // draining stays set: that pool thread leads now
                        break;
                    }
                    if (urgent.Count > 0)
                    {
                        batch = [.. urgent];
                        urgent.Clear();
                    }
                    else
                    {
                        // A few stored answers at a time, so a request about to be sent never waits behind many.
                        batch = [.. bulk.GetRange(0, Math.Min(BulkPerCommit, bulk.Count))];
                        bulk.RemoveRange(0, batch.Length);
                    }
                }
                CommitBatch(batch);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    private void CommitBatch(PendingWrite[] batch)
    {
        var changed = new int[batch.Length];
        try
        {
            using var transaction = connection.BeginTransaction();
            for (var i = 0; i < batch.Length; i++)
            {
                var (sql, parameters, _) = batch[i];
                // The few statements the ledger writes are prepared once and reused (the gate serialises access).
                if (!prepared.TryGetValue(sql, out var command))
                {
                    command = connection.CreateCommand();
                    command.CommandText = sql;
                    foreach (var (name, _) in parameters) command.Parameters.Add(new SqliteParameter { ParameterName = name });
                    prepared[sql] = command;
                }
                command.Transaction = transaction;
                foreach (var (name, value) in parameters) command.Parameters[name].Value = value;
                changed[i] = command.ExecuteNonQuery();
            }
            transaction.Commit();
            checkpointer.Committed();
        }
        catch (Exception e)
        {
            foreach (var write in batch) write.Done.TrySetException(e);
            return;
        }
        for (var i = 0; i < batch.Length; i++) batch[i].Done.TrySetResult(changed[i]);
    }

    private sealed record PendingWrite(string Sql, (string Name, object Value)[] Parameters, TaskCompletionSource<int> Done);

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static LedgerEntry ReadEntry(SqliteDataReader r) => new()
    {
        Hash = r.GetString(0),
        Provider = r.GetString(1),
        Model = r.GetString(2),
        Endpoint = r.GetString(3),
        Request = r.GetString(4),
        Status = Enum.Parse<LedgerStatus>(r.GetString(5), ignoreCase: true),
        Response = r.IsDBNull(6) ? null : r.GetString(6),
        ModelReported = r.IsDBNull(7) ? null : r.GetString(7),
        Usage = new TokenUsage(r.GetInt32(8), r.GetInt32(9)),
        CostUsd = decimal.Parse(r.GetString(10), CultureInfo.InvariantCulture),
        Sends = r.GetInt32(11),
        Retries = r.GetInt32(12),
        Error = r.IsDBNull(13) ? null : r.GetString(13),
        Created = Parse(r.GetString(14)),
        Sent = r.IsDBNull(15) ? null : Parse(r.GetString(15)),
        Completed = r.IsDBNull(16) ? null : Parse(r.GetString(16)),
        DurationMs = r.IsDBNull(17) ? null : r.GetDouble(17),
    };

    // ISO 8601 with a 'Z'; julianday() reads it, and it sorts as text.
    private static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
