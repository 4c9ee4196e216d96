using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Provenance;
using Npgsql;

namespace Distillery.Core.Ledger;

/// <summary>The ledger in a PostgreSQL database (<c>--ledger postgres://…</c>), shared by processes on many machines.</summary>
/// <remarks>
/// A claim is one transaction: the row is locked with <c>FOR UPDATE SKIP LOCKED</c> (a row another process is claiming this
/// instant is skipped, not waited for), then taken when it is not answered and no other owner's lease is running. A lost
/// connection is a one-line <see cref="DistilleryException"/>; what was committed stays, and a rerun finishes the job.
/// </remarks>
public sealed class PostgresLedger : TeacherLedger
{
    private readonly NpgsqlDataSource source;

    private PostgresLedger(string display, NpgsqlDataSource source) : base(display) => this.source = source;

    /// <summary>Connects to the database at <paramref name="url"/> and creates the table where needed; an unreachable database is an input error (exit 2).</summary>
    public static new async Task<TeacherLedger> OpenAsync(string url, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        var display = LedgerLocation.Display(url);
        var source = NpgsqlDataSource.Create(LedgerLocation.ConnectionString(url));
        try
        {
            await using var connection = await source.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            // Processes starting together would race on CREATE TABLE; the advisory lock makes them take turns.
            await ExecuteAsync(connection, "SELECT pg_advisory_xact_lock(7316001)", cancellationToken);
            await ExecuteAsync(connection, CreateTable("DOUBLE PRECISION", "BYTEA"), cancellationToken);
            await ExecuteAsync(connection, CreateBatchTables, cancellationToken);
            await ExecuteAsync(connection, CreateShareTable, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return new PostgresLedger(display, source);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            await source.DisposeAsync();
            throw InputException.InField("--ledger", $"{display}: cannot reach the ledger database ({ErrorText.FirstLine(e)})");
        }
    }

    /// <inheritdoc />
    public override Task<LedgerEntry?> FindAsync(string hash, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        return RunAsync(async connection =>
        {
            await using var command = Command(connection, $"SELECT {Columns} FROM requests WHERE hash = @hash", ("hash", hash));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? ReadEntry(reader) : null;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public override Task<IReadOnlySet<string>> AnsweredHashesAsync(CancellationToken cancellationToken = default) => RunAsync<IReadOnlySet<string>>(async connection =>
    {
        await using var command = Command(connection, "SELECT hash FROM requests WHERE status = 'answered'");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var hashes = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken)) hashes.Add(reader.GetString(0));
        return hashes;
    }, cancellationToken);

    /// <inheritdoc />
    public override Task<LedgerClaim> ClaimAsync(string hash, TeacherIdentity teacher, string canonicalRequest, LedgerLease lease, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(canonicalRequest);
        ArgumentNullException.ThrowIfNull(lease);
        return RunAsync(async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var insert = Command(connection, """
                INSERT INTO requests (hash, provider, model, endpoint, request, status, sends, created_utc)
                VALUES (@hash, @provider, @model, @endpoint, @request, 'pending', 0, @now) ON CONFLICT (hash) DO NOTHING
                """, ("hash", hash), ("provider", teacher.Provider), ("model", teacher.Model), ("endpoint", teacher.Endpoint), ("request", canonicalRequest), ("now", FormatTime(now))))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            var claim = await LockedClaimAsync(connection, hash, lease, now, cancellationToken);
            if (claim.Outcome == ClaimOutcome.Claimed)
            {
                await using var take = Command(connection, """
                    UPDATE requests SET status = 'pending', sends = sends + 1, sent_utc = @now, error = NULL, owner = @owner, lease_utc = @until WHERE hash = @hash
                    """, ("hash", hash), ("now", FormatTime(now)), ("owner", lease.Owner), ("until", FormatTime(lease.Until(now))));
                await take.ExecuteNonQueryAsync(cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
            return claim;
        }, cancellationToken);
    }

    /// <summary>Locks the request's row (skipping it when another process holds the lock) and says whether this owner may take it.</summary>
    private static async Task<LedgerClaim> LockedClaimAsync(NpgsqlConnection connection, string hash, LedgerLease lease, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Whether a batch holds the request is read in the same round trip; only the requests row is locked.
        await using var select = Command(connection, $"SELECT status, owner, lease_utc, {BatchHolds('@')} FROM requests WHERE hash = @hash FOR UPDATE SKIP LOCKED",
            ("hash", hash), ("since", BatchHoldSince(now)));
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return new LedgerClaim(ClaimOutcome.HeldElsewhere, now); // being claimed this instant
        if (reader.GetString(0) == "answered") return new LedgerClaim(ClaimOutcome.Answered);
        var owner = reader.IsDBNull(1) ? null : reader.GetString(1);
        var until = reader.IsDBNull(2) ? (DateTimeOffset?)null : ParseTime(reader.GetString(2));
        if (owner is not null && owner != lease.Owner && until is { } running && running > now) return new LedgerClaim(ClaimOutcome.HeldElsewhere, running);
        // A batch's hold has no end the ledger knows: looked at again after a lease.
        return !lease.FollowsBatches && reader.GetBoolean(3)
            ? new LedgerClaim(ClaimOutcome.HeldElsewhere, lease.Until(now))
            : new LedgerClaim(ClaimOutcome.Claimed);
    }

    /// <inheritdoc />
    public override Task RenewAsync(LedgerLease lease, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return WriteAsync("UPDATE requests SET lease_utc = @until WHERE owner = @owner AND status = 'pending'", cancellationToken,
            ("owner", lease.Owner), ("until", FormatTime(lease.Until(now))));
    }

    /// <inheritdoc />
    public override Task ReleaseAsync(string owner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(owner);
        return WriteAsync("UPDATE requests SET owner = NULL, lease_utc = NULL WHERE owner = @owner AND status = 'pending'", cancellationToken, ("owner", owner));
    }

    /// <inheritdoc />
    public override Task RecordAnsweredAsync(string hash, Completion response, decimal costUsd, int retries, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(response);
        return WriteAsync("""
            UPDATE requests SET status = 'answered', response = NULL, response_br = @response, model_reported = @model, prompt_tokens = @prompt,
                completion_tokens = @completion, cost_usd = @cost, retries = retries + @retries, error = NULL, completed_utc = @now,
                duration_ms = EXTRACT(EPOCH FROM (@now::timestamptz - sent_utc::timestamptz)) * 1000.0, owner = NULL, lease_utc = NULL
            WHERE hash = @hash
            """, cancellationToken,
            ("hash", hash), ("response", ResponseCodec.Encode(response)), ("model", response.Model), ("prompt", response.Usage.PromptTokens),
            ("completion", response.Usage.CompletionTokens), ("cost", costUsd.ToString(CultureInfo.InvariantCulture)), ("retries", retries), ("now", FormatTime(now)));
    }

    /// <inheritdoc />
    public override Task RecordFailedAsync(string hash, string error, int retries, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(error);
        return WriteAsync("""
            UPDATE requests SET status = 'failed', error = @error, retries = retries + @retries, completed_utc = @now,
                duration_ms = EXTRACT(EPOCH FROM (@now::timestamptz - sent_utc::timestamptz)) * 1000.0, owner = NULL, lease_utc = NULL
            WHERE hash = @hash AND status <> 'answered'
            """, cancellationToken, ("hash", hash), ("error", error), ("retries", retries), ("now", FormatTime(now)));
    }

    /// <inheritdoc />
    public override Task RecordShareAsync(string hash, string share, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(share);
        return WriteAsync("INSERT INTO answer_shares (hash, share) VALUES (@hash, @share) ON CONFLICT (hash) DO NOTHING", cancellationToken, ("hash", hash), ("share", share));
    }

    /// <inheritdoc />
    public override Task<IReadOnlySet<string>> OtherSharesAsync(string share, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(share);
        return RunAsync<IReadOnlySet<string>>(async connection =>
        {
            await using var command = Command(connection, "SELECT hash FROM answer_shares WHERE share <> @share", ("share", share));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var hashes = new HashSet<string>(StringComparer.Ordinal);
            while (await reader.ReadAsync(cancellationToken)) hashes.Add(reader.GetString(0));
            return hashes;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public override Task RecordBatchJobAsync(string jobId, IReadOnlyCollection<string> hashes, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        ArgumentNullException.ThrowIfNull(hashes);
        return RunAsync(async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var job = Command(connection, "INSERT INTO batch_jobs (job_id, created_utc) VALUES (@job, @now)", ("job", jobId), ("now", FormatTime(now))))
                await job.ExecuteNonQueryAsync(cancellationToken);
            // One statement for the whole file: the hashes go as one array parameter.
            await using (var requests = Command(connection, "INSERT INTO batch_requests (job_id, hash) SELECT @job, unnest(@hashes) ON CONFLICT DO NOTHING",
                             ("job", jobId), ("hashes", hashes.ToArray())))
                await requests.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return 0;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public override Task RecordBatchIdAsync(string jobId, string batchId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        ArgumentNullException.ThrowIfNull(batchId);
        return WriteAsync("UPDATE batch_jobs SET batch_id = @batch WHERE job_id = @job", cancellationToken, ("job", jobId), ("batch", batchId));
    }

    /// <inheritdoc />
    public override Task AbandonBatchJobAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        return WriteAsync("UPDATE batch_jobs SET abandoned = 1 WHERE job_id = @job AND batch_id IS NULL", cancellationToken, ("job", jobId));
    }

    /// <inheritdoc />
    public override Task<IReadOnlyList<LedgerBatchJob>> OpenBatchJobsAsync(CancellationToken cancellationToken = default) => RunAsync(async connection =>
    {
        await using var command = Command(connection, SelectOpenBatchRequests);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<(string, string?, string)>();
        while (await reader.ReadAsync(cancellationToken)) rows.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2)));
        return LatestJobs(rows);
    }, cancellationToken);

    /// <inheritdoc />
    public override Task<IReadOnlyList<LedgerEntry>> ReadAllAsync(CancellationToken cancellationToken = default) => RunAsync<IReadOnlyList<LedgerEntry>>(async connection =>
    {
        await using var command = Command(connection, $"SELECT {Columns} FROM requests ORDER BY created_utc, hash");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var entries = new List<LedgerEntry>();
        while (await reader.ReadAsync(cancellationToken)) entries.Add(ReadEntry(reader));
        return entries;
    }, cancellationToken);

    /// <inheritdoc />
    public override ValueTask DisposeAsync() => source.DisposeAsync();

    private Task WriteAsync(string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters) => RunAsync(async connection =>
    {
        await using var command = Command(connection, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }, cancellationToken);

    /// <summary>Runs one unit of work on a pooled connection; a lost or refused connection becomes a one-line error naming the ledger.</summary>
    private async Task<T> RunAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await source.OpenConnectionAsync(cancellationToken);
            return await work(connection);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            throw new DistilleryException($"{Path}: lost the ledger database ({ErrorText.FirstLine(e)}); what was recorded is kept, rerun to finish", e);
        }
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return command;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
