using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Provenance;

namespace Distillery.Core.Ledger;

/// <summary>
/// The ledger: every teacher request claimed before it is sent and recorded when it completes, keyed by its request hash.
/// A file (<see cref="SqliteLedger"/>, the embedded default) or a PostgreSQL database (<see cref="PostgresLedger"/>) shared by many machines.
/// </summary>
/// <remarks>
/// A request the ledger holds as answered is never sent again: its stored response answers it. Several processes may share one
/// ledger: each request is claimed by one owner with a lease (<see cref="LedgerLease"/>); a live owner renews its claims, and a
/// claim that ran out (its process died) is taken over.
/// </remarks>
public abstract class TeacherLedger : IAsyncDisposable
{
    /// <summary>The columns every implementation reads, in <see cref="ReadEntry"/>'s order.</summary>
    protected const string Columns = "hash, provider, model, endpoint, request, status, response, model_reported, prompt_tokens, completion_tokens, cost_usd, sends, retries, error, created_utc, sent_utc, completed_utc, duration_ms, response_br";

    /// <summary>The table, in either database's words for a floating-point number and a byte string.</summary>
    protected static string CreateTable(string realType, string bytesType) => $"""
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
            duration_ms {realType},
            owner TEXT,
            lease_utc TEXT,
            response_br {bytesType})
        """;

    /// <summary>The Batch API's side tables: each job (its batch id once known; abandoned when no batch was ever made of it) and the requests in its input file, found by hash when a claim asks whether a batch holds one.</summary>
    protected const string CreateBatchTables = """
        CREATE TABLE IF NOT EXISTS batch_jobs (
            job_id TEXT PRIMARY KEY,
            batch_id TEXT,
            abandoned INTEGER NOT NULL DEFAULT 0,
            created_utc TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS batch_requests (
            job_id TEXT NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (job_id, hash));
        CREATE INDEX IF NOT EXISTS batch_requests_by_hash ON batch_requests (hash)
        """;

    /// <summary>Which share of a job each answer belongs to (<c>generate --take-share</c>): the output folder of the process that answered it first.</summary>
    protected const string CreateShareTable = """
        CREATE TABLE IF NOT EXISTS answer_shares (
            hash TEXT PRIMARY KEY,
            share TEXT NOT NULL)
        """;

    /// <summary>Every (job, request) of a job not abandoned whose request is not answered, oldest job first: the last job of a request is the one that holds it.</summary>
    protected const string SelectOpenBatchRequests = """
        SELECT j.job_id, j.batch_id, r.hash FROM batch_jobs j JOIN batch_requests r ON r.job_id = j.job_id
        LEFT JOIN requests q ON q.hash = r.hash
        WHERE j.abandoned = 0 AND (q.status IS NULL OR q.status <> 'answered')
        ORDER BY j.created_utc, j.job_id
        """;

    /// <summary>
    /// How long a Batch API job holds its unanswered requests against owners that do not follow batches: the batch's 24-hour
    /// completion window and an hour to finalize. A job abandoned (no batch was made of it) holds nothing.
    /// </summary>
    public static TimeSpan BatchHoldLimit { get; } = TimeSpan.FromHours(25);

    /// <summary>
    /// Whether a job that may still have a live batch holds the request <c>{p}hash</c>: one not abandoned, created after <c>{p}since</c>
    /// (now less <see cref="BatchHoldLimit"/>), <paramref name="p"/> being the database's parameter prefix.
    /// </summary>
    protected static string BatchHolds(char p) => $"""
        EXISTS (SELECT 1 FROM batch_requests br JOIN batch_jobs bj ON bj.job_id = br.job_id
                WHERE br.hash = {p}hash AND bj.abandoned = 0 AND bj.created_utc > {p}since)
        """;

    /// <summary>The oldest job creation time that still holds its requests at <paramref name="now"/>, as the ledger stores times.</summary>
    protected static string BatchHoldSince(DateTimeOffset now) => FormatTime(now - BatchHoldLimit);

    /// <summary>Creates a ledger shown to users as <paramref name="path"/>.</summary>
    protected TeacherLedger(string path) => Path = path;

    /// <summary>Where the ledger is, as users are shown it: the file, or the database URL without its password.</summary>
    public string Path { get; }

    /// <summary>Opens (creating where needed) the ledger at <paramref name="location"/>: a file path, or a <c>postgres://</c> or <c>postgresql://</c> URL.</summary>
    public static Task<TeacherLedger> OpenAsync(string location, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(location);
        return LedgerLocation.IsDatabaseUrl(location) ? PostgresLedger.OpenAsync(location, cancellationToken) : SqliteLedger.OpenAsync(location, cancellationToken);
    }

    /// <summary>The entry for a request hash, or null when the ledger has never seen it.</summary>
    public abstract Task<LedgerEntry?> FindAsync(string hash, CancellationToken cancellationToken = default);

    /// <summary>The hashes of every answered request (one query, for a run to know up front what it need not send).</summary>
    public abstract Task<IReadOnlySet<string>> AnsweredHashesAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Claims a request for <paramref name="lease"/>'s owner before it is sent (status pending, one more send), unless the ledger
    /// holds its answer, another owner's claim on it has not run out at <paramref name="now"/>, or (for an owner that does not
    /// follow batches) a Batch API job that may still be live holds it.
    /// </summary>
    public abstract Task<LedgerClaim> ClaimAsync(string hash, TeacherIdentity teacher, string canonicalRequest, LedgerLease lease, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Extends every claim of <paramref name="lease"/>'s owner still pending to a full lease from <paramref name="now"/>.</summary>
    public abstract Task RenewAsync(LedgerLease lease, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Gives up every claim of <paramref name="owner"/> still pending, so another process takes them at once (a run that stops).</summary>
    public abstract Task ReleaseAsync(string owner, CancellationToken cancellationToken = default);

    /// <summary>Records a request's answer (stored compact, <see cref="ResponseCodec"/>; its model as reported and usage also in columns) and cost; its claim ends.</summary>
    public abstract Task RecordAnsweredAsync(string hash, Completion response, decimal costUsd, int retries, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Records that a request failed, with the error; its claim ends and a later run sends it again. An answered request stays answered.</summary>
    public abstract Task RecordFailedAsync(string hash, string error, int retries, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Records that the answer of a request belongs to <paramref name="share"/> (the process that answered it, taking its share); the first share recorded stays.</summary>
    public abstract Task RecordShareAsync(string hash, string share, CancellationToken cancellationToken = default);

    /// <summary>The hashes of answers that belong to a share other than <paramref name="share"/> (their rows are in that process's folder).</summary>
    public abstract Task<IReadOnlySet<string>> OtherSharesAsync(string share, CancellationToken cancellationToken = default);

    /// <summary>Records a Batch API job and every request of its input file, before the file is uploaded.</summary>
    public abstract Task RecordBatchJobAsync(string jobId, IReadOnlyCollection<string> hashes, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Stores the provider's batch id of a job, once the batch is created (or found again by its metadata).</summary>
    public abstract Task RecordBatchIdAsync(string jobId, string batchId, CancellationToken cancellationToken = default);

    /// <summary>Marks a job of which no batch was ever made (the process stopped between upload and create): its requests are free to go in a new job.</summary>
    public abstract Task AbandonBatchJobAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>The jobs still holding unanswered requests, each request under the latest job that holds it.</summary>
    public abstract Task<IReadOnlyList<LedgerBatchJob>> OpenBatchJobsAsync(CancellationToken cancellationToken = default);

    /// <summary>Groups (job, batch id, hash) rows read oldest job first into jobs, each hash under its latest job.</summary>
    protected static IReadOnlyList<LedgerBatchJob> LatestJobs(IEnumerable<(string JobId, string? BatchId, string Hash)> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var latest = new Dictionary<string, (string JobId, string? BatchId)>(StringComparer.Ordinal);
        foreach (var (job, batch, hash) in rows) latest[hash] = (job, batch);
        return [.. latest.GroupBy(l => l.Value, l => l.Key).Select(g => new LedgerBatchJob(g.Key.JobId, g.Key.BatchId, [.. g]))];
    }

    /// <summary>Every entry, oldest first.</summary>
    public abstract Task<IReadOnlyList<LedgerEntry>> ReadAllAsync(CancellationToken cancellationToken = default);

    /// <inheritdoc />
    public abstract ValueTask DisposeAsync();

    /// <summary>Reads one row selected with <see cref="Columns"/>.</summary>
    protected static LedgerEntry ReadEntry(DbDataReader r)
    {
        ArgumentNullException.ThrowIfNull(r);
        string? Text(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        var usage = new TokenUsage(Convert.ToInt32(r.GetValue(8), CultureInfo.InvariantCulture), Convert.ToInt32(r.GetValue(9), CultureInfo.InvariantCulture));
        return new LedgerEntry
        {
            Hash = r.GetString(0),
            Provider = r.GetString(1),
            Model = r.GetString(2),
            Endpoint = r.GetString(3),
            Request = r.GetString(4),
            Status = Enum.Parse<LedgerStatus>(r.GetString(5), ignoreCase: true),
            Response = ReadResponse(r, usage),
            ModelReported = Text(7),
            Usage = usage,
            CostUsd = decimal.Parse(r.GetString(10), CultureInfo.InvariantCulture),
            Sends = Convert.ToInt32(r.GetValue(11), CultureInfo.InvariantCulture),
            Retries = Convert.ToInt32(r.GetValue(12), CultureInfo.InvariantCulture),
            Error = Text(13),
            Created = ParseTime(r.GetString(14)),
            Sent = Text(15) is { } sent ? ParseTime(sent) : null,
            Completed = Text(16) is { } completed ? ParseTime(completed) : null,
            DurationMs = r.IsDBNull(17) ? null : r.GetDouble(17),
        };
    }

    /// <summary>A row's stored response, whichever form it was written in (<see cref="ResponseCodec"/>); null when there is none.</summary>
    private static Completion? ReadResponse(DbDataReader r, TokenUsage usage)
    {
        try
        {
            if (!r.IsDBNull(6)) return ResponseCodec.FromJson(r.GetString(6));
            return r.IsDBNull(18) ? null : ResponseCodec.Decode((byte[])r.GetValue(18), r.IsDBNull(7) ? r.GetString(2) : r.GetString(7), usage);
        }
        catch (System.IO.InvalidDataException e)
        {
            throw new DistilleryException($"the ledger's response to request {r.GetString(0)} does not read ({e.Message}); was the ledger changed by hand?", e);
        }
    }

    /// <summary>A time as the ledger stores it: UTC text of fixed width, so comparing the text compares the times.</summary>
    protected static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A stored time.</summary>
    protected static DateTimeOffset ParseTime(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
