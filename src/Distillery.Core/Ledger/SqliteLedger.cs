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

/// <summary>The ledger in a file, <c>ledger.db</c> (SQLite, WAL): the embedded default, shared by processes on one machine.</summary>
/// <remarks>Safe for concurrent callers in one process (one connection, group commits); other processes wait on SQLite's write lock, and claims keep them from sending the same request.</remarks>
public sealed class SqliteLedger : TeacherLedger
{
    private readonly SqliteConnection connection;
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly Dictionary<string, SqliteCommand> prepared = new(StringComparer.Ordinal);
    private const int CommitsPerCheckpoint = 128;
    private readonly WalCheckpointer checkpointer;
    private readonly GroupCommit writes;

    private SqliteLedger(string path, SqliteConnection connection, WalCheckpointer checkpointer) : base(path)
    {
        this.connection = connection;
        this.checkpointer = checkpointer;
        writes = new GroupCommit(gate, CommitBatch);
    }

    /// <summary>Opens or creates a ledger file in WAL mode; a ledger written before claims existed gains their columns, and its stored responses stay readable as they are.</summary>
    public static new async Task<TeacherLedger> OpenAsync(string path, CancellationToken cancellationToken = default)
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
            // A new file gets 1 KiB pages: the tail of a stored response fills an overflow page half on average (docs/ledger-format.md).
            await ExecuteAsync(connection, "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; PRAGMA wal_autocheckpoint=0;", cancellationToken);
            await CreateOrMigrateAsync(connection, cancellationToken);
            return new SqliteLedger(path, connection, await WalCheckpointer.StartAsync(builder.ToString(), CommitsPerCheckpoint, cancellationToken));
        }
        catch (SqliteException e)
        {
            await connection.DisposeAsync();
            throw new DistilleryException($"{path}: cannot open the ledger ({ErrorText.FirstLine(e)}); is it a Distillery ledger.db?", e);
        }
    }

    /// <summary>Columns added since the first ledgers: claims (owner and lease) and the compressed response.</summary>
    private static readonly (string Column, string Type)[] AddedColumns = [("owner", "TEXT"), ("lease_utc", "TEXT"), ("response_br", "BLOB")];

    /// <summary>Creates the table, or adds the newer columns to one from before claims; under the write lock, so processes opening one file together agree.</summary>
    private static async Task CreateOrMigrateAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, "BEGIN IMMEDIATE", cancellationToken);
        await ExecuteAsync(connection, CreateTable("REAL", "BLOB"), cancellationToken);
        await ExecuteAsync(connection, CreateBatchTables, cancellationToken);
        await ExecuteAsync(connection, CreateShareTable, cancellationToken);
        foreach (var (column, type) in AddedColumns)
        {
            await using var exists = connection.CreateCommand();
            exists.CommandText = "SELECT COUNT(*) FROM pragma_table_info('requests') WHERE name = $name";
            exists.Parameters.AddWithValue("$name", column);
            if (Convert.ToInt64(await exists.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 0)
                await ExecuteAsync(connection, $"ALTER TABLE requests ADD COLUMN {column} {type}", cancellationToken);
        }
        await ExecuteAsync(connection, "COMMIT", cancellationToken);
    }

    /// <inheritdoc />
    public override async Task<LedgerEntry?> FindAsync(string hash, CancellationToken cancellationToken = default)
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

    /// <inheritdoc />
    public override Task<IReadOnlySet<string>> AnsweredHashesAsync(CancellationToken cancellationToken = default) =>
        HashesAsync("SELECT hash FROM requests WHERE status = 'answered'", null, cancellationToken);

    /// <inheritdoc />
    public override async Task<LedgerClaim> ClaimAsync(string hash, TeacherIdentity teacher, string canonicalRequest, LedgerLease lease, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(canonicalRequest);
        ArgumentNullException.ThrowIfNull(lease);
        var changed = await WriteAsync(ClaimSql, isUrgent: true, cancellationToken,
            ("$hash", hash), ("$provider", teacher.Provider), ("$model", teacher.Model), ("$endpoint", teacher.Endpoint),
            ("$request", canonicalRequest), ("$now", FormatTime(now)), ("$owner", lease.Owner), ("$until", FormatTime(lease.Until(now))),
            ("$follows", lease.FollowsBatches ? 1 : 0), ("$since", BatchHoldSince(now)));
        if (changed == 1) return new LedgerClaim(ClaimOutcome.Claimed);
        return await HolderAsync(hash, lease, now, cancellationToken);
    }

    /// <summary>The claim: one statement under SQLite's write lock, so of processes claiming together exactly one changes the row.</summary>
    private static readonly string ClaimSql = $"""
        INSERT INTO requests (hash, provider, model, endpoint, request, status, sends, created_utc, sent_utc, owner, lease_utc)
        VALUES ($hash, $provider, $model, $endpoint, $request, 'pending', 1, $now, $now, $owner, $until)
        ON CONFLICT(hash) DO UPDATE SET status = 'pending', sends = sends + 1, sent_utc = $now, error = NULL, owner = $owner, lease_utc = $until
        WHERE status <> 'answered' AND (owner IS NULL OR owner = $owner OR lease_utc IS NULL OR lease_utc <= $now)
            AND ($follows = 1 OR NOT {BatchHolds('$')})
        """;

    /// <summary>Why a claim changed nothing: the request is answered, another owner holds it (until when), or a batch that may be live does.</summary>
    private async Task<LedgerClaim> HolderAsync(string hash, LedgerLease lease, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT status, lease_utc, {BatchHolds('$')} FROM requests WHERE hash = $hash";
            command.Parameters.AddWithValue("$hash", hash);
            command.Parameters.AddWithValue("$since", BatchHoldSince(now));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken)) return new LedgerClaim(ClaimOutcome.HeldElsewhere, now);
            if (reader.GetString(0) == "answered") return new LedgerClaim(ClaimOutcome.Answered);
            // Released or run out since the claim was refused: held until now, so the caller claims again.
            var until = reader.IsDBNull(1) ? now : ParseTime(reader.GetString(1));
            // A batch's hold has no end the ledger knows: looked at again after a lease.
            if (!lease.FollowsBatches && reader.GetInt64(2) == 1 && until < lease.Until(now)) until = lease.Until(now);
            return new LedgerClaim(ClaimOutcome.HeldElsewhere, until);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public override Task RenewAsync(LedgerLease lease, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return WriteAsync("UPDATE requests SET lease_utc = $until WHERE owner = $owner AND status = 'pending'", isUrgent: true, cancellationToken,
            ("$owner", lease.Owner), ("$until", FormatTime(lease.Until(now))));
    }

    /// <inheritdoc />
    public override Task ReleaseAsync(string owner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(owner);
        return WriteAsync("UPDATE requests SET owner = NULL, lease_utc = NULL WHERE owner = $owner AND status = 'pending'", isUrgent: true, cancellationToken, ("$owner", owner));
    }

    /// <inheritdoc />
    public override async Task RecordAnsweredAsync(string hash, Completion response, decimal costUsd, int retries, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(response);
        await WriteAsync("""
            UPDATE requests SET status = 'answered', response = NULL, response_br = $response, model_reported = $model, prompt_tokens = $prompt,
                completion_tokens = $completion, cost_usd = $cost, retries = retries + $retries, error = NULL, completed_utc = $now,
                duration_ms = (julianday($now) - julianday(sent_utc)) * 86400000.0, owner = NULL, lease_utc = NULL
            WHERE hash = $hash
            """, isUrgent: false, cancellationToken,
            ("$hash", hash), ("$response", ResponseCodec.Encode(response)), ("$model", response.Model), ("$prompt", response.Usage.PromptTokens),
            ("$completion", response.Usage.CompletionTokens), ("$cost", costUsd.ToString(CultureInfo.InvariantCulture)), ("$retries", retries), ("$now", FormatTime(now)));
    }

    /// <inheritdoc />
    public override async Task RecordFailedAsync(string hash, string error, int retries, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(error);
        await WriteAsync("""
            UPDATE requests SET status = 'failed', error = $error, retries = retries + $retries, completed_utc = $now,
                duration_ms = (julianday($now) - julianday(sent_utc)) * 86400000.0, owner = NULL, lease_utc = NULL
            WHERE hash = $hash AND status <> 'answered'
            """, isUrgent: true, cancellationToken, ("$hash", hash), ("$error", error), ("$retries", retries), ("$now", FormatTime(now)));
    }

    /// <inheritdoc />
    public override Task RecordShareAsync(string hash, string share, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(share);
        return WriteAsync("INSERT INTO answer_shares (hash, share) VALUES ($hash, $share) ON CONFLICT(hash) DO NOTHING", isUrgent: false, cancellationToken,
            ("$hash", hash), ("$share", share));
    }

    /// <inheritdoc />
    public override async Task<IReadOnlySet<string>> OtherSharesAsync(string share, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(share);
        return await HashesAsync("SELECT hash FROM answer_shares WHERE share <> $share", share, cancellationToken);
    }

    /// <summary>The hashes a one-column query returns, with <c>$share</c> bound where given.</summary>
    private async Task<IReadOnlySet<string>> HashesAsync(string sql, string? share, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            if (share is not null) command.Parameters.AddWithValue("$share", share);
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

    /// <inheritdoc />
    public override async Task RecordBatchJobAsync(string jobId, IReadOnlyCollection<string> hashes, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        ArgumentNullException.ThrowIfNull(hashes);
        // Queued together, so the group commit writes the job and its requests in few transactions.
        var writes = new List<Task<int>>(hashes.Count + 1)
        {
            WriteAsync("INSERT INTO batch_jobs (job_id, created_utc) VALUES ($job, $now)", isUrgent: true, cancellationToken, ("$job", jobId), ("$now", FormatTime(now))),
        };
        foreach (var hash in hashes)
            writes.Add(WriteAsync("INSERT OR IGNORE INTO batch_requests (job_id, hash) VALUES ($job, $hash)", isUrgent: true, cancellationToken, ("$job", jobId), ("$hash", hash)));
        await Task.WhenAll(writes);
    }

    /// <inheritdoc />
    public override Task RecordBatchIdAsync(string jobId, string batchId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        ArgumentNullException.ThrowIfNull(batchId);
        return WriteAsync("UPDATE batch_jobs SET batch_id = $batch WHERE job_id = $job", isUrgent: true, cancellationToken, ("$job", jobId), ("$batch", batchId));
    }

    /// <inheritdoc />
    public override Task AbandonBatchJobAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        return WriteAsync("UPDATE batch_jobs SET abandoned = 1 WHERE job_id = $job AND batch_id IS NULL", isUrgent: true, cancellationToken, ("$job", jobId));
    }

    /// <inheritdoc />
    public override async Task<IReadOnlyList<LedgerBatchJob>> OpenBatchJobsAsync(CancellationToken cancellationToken = default)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = SelectOpenBatchRequests;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var rows = new List<(string, string?, string)>();
            while (await reader.ReadAsync(cancellationToken)) rows.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2)));
            return LatestJobs(rows);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public override async Task<IReadOnlyList<LedgerEntry>> ReadAllAsync(CancellationToken cancellationToken = default)
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
    public override async ValueTask DisposeAsync()
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
}
