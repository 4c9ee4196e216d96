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
    private const int CommitsPerCheckpoint = 128;
    private readonly WalCheckpointer checkpointer;
    private readonly GroupCommit writes;

    private TeacherLedger(string path, SqliteConnection connection, WalCheckpointer checkpointer)
    {
        Path = path;
        this.connection = connection;
        this.checkpointer = checkpointer;
        writes = new GroupCommit(gate, CommitBatch);
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
        await writes.IdleAsync(); // a pool thread may still be finishing a drain the last writer handed over
        await checkpointer.DisposeAsync();
        foreach (var command in prepared.Values) await command.DisposeAsync();
        await connection.DisposeAsync(); // the last connection to close checkpoints what is left and removes the WAL
        gate.Dispose();
    }

    /// <summary>Runs one write through the group commit and returns the rows it changed once it is committed.</summary>
    private Task<int> WriteAsync(string sql, bool isUrgent, CancellationToken cancellationToken, params (string Name, object Value)[] parameters) =>
        writes.WriteAsync(new LedgerWrite(sql, parameters), isUrgent, cancellationToken);

    /// <summary>Commits writes in one transaction (called by the group commit, which holds the gate); rows changed per write.</summary>
    private int[] CommitBatch(IReadOnlyList<LedgerWrite> batch)
    {
        var changed = new int[batch.Count];
        using var transaction = connection.BeginTransaction();
        for (var i = 0; i < batch.Count; i++)
        {
            var (sql, parameters) = batch[i];
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
        return changed;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static LedgerEntry ReadEntry(SqliteDataReader r)
    {
        string? Text(string column) => r.IsDBNull(r.GetOrdinal(column)) ? null : r.GetString(r.GetOrdinal(column));
        string Required(string column) => r.GetString(r.GetOrdinal(column));
        return new LedgerEntry
        {
            Hash = Required("hash"),
            Provider = Required("provider"),
            Model = Required("model"),
            Endpoint = Required("endpoint"),
            Request = Required("request"),
            Status = Enum.Parse<LedgerStatus>(Required("status"), ignoreCase: true),
            Response = Text("response"),
            ModelReported = Text("model_reported"),
            Usage = new TokenUsage(r.GetInt32(r.GetOrdinal("prompt_tokens")), r.GetInt32(r.GetOrdinal("completion_tokens"))),
            CostUsd = decimal.Parse(Required("cost_usd"), CultureInfo.InvariantCulture),
            Sends = r.GetInt32(r.GetOrdinal("sends")),
            Retries = r.GetInt32(r.GetOrdinal("retries")),
            Error = Text("error"),
            Created = Parse(Required("created_utc")),
            Sent = Text("sent_utc") is { } sent ? Parse(sent) : null,
            Completed = Text("completed_utc") is { } completed ? Parse(completed) : null,
            DurationMs = r.IsDBNull(r.GetOrdinal("duration_ms")) ? null : r.GetDouble(r.GetOrdinal("duration_ms")),
        };
    }

    private static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
