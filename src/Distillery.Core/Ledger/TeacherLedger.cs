using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
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
    /// holds its answer or another owner's claim on it has not run out at <paramref name="now"/>.
    /// </summary>
    public abstract Task<LedgerClaim> ClaimAsync(string hash, TeacherIdentity teacher, string canonicalRequest, LedgerLease lease, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Extends every claim of <paramref name="lease"/>'s owner still pending to a full lease from <paramref name="now"/>.</summary>
    public abstract Task RenewAsync(LedgerLease lease, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Gives up every claim of <paramref name="owner"/> still pending, so another process takes them at once (a run that stops).</summary>
    public abstract Task ReleaseAsync(string owner, CancellationToken cancellationToken = default);

    /// <summary>Records a request's answer: the response JSON, the model as reported, usage and cost; its claim ends.</summary>
    public abstract Task RecordAnsweredAsync(string hash, string response, string modelReported, TokenUsage usage, decimal costUsd, int retries, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Records that a request failed, with the error; its claim ends and a later run sends it again. An answered request stays answered.</summary>
    public abstract Task RecordFailedAsync(string hash, string error, int retries, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Every entry, oldest first.</summary>
    public abstract Task<IReadOnlyList<LedgerEntry>> ReadAllAsync(CancellationToken cancellationToken = default);

    /// <inheritdoc />
    public abstract ValueTask DisposeAsync();

    /// <summary>Reads one row selected with <see cref="Columns"/>.</summary>
    protected static LedgerEntry ReadEntry(DbDataReader r)
    {
        ArgumentNullException.ThrowIfNull(r);
        string? Text(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        return new LedgerEntry
        {
            Hash = r.GetString(0),
            Provider = r.GetString(1),
            Model = r.GetString(2),
            Endpoint = r.GetString(3),
            Request = r.GetString(4),
            Status = Enum.Parse<LedgerStatus>(r.GetString(5), ignoreCase: true),
            Response = Text(6) ?? (r.IsDBNull(18) ? null : ResponseCodec.Decode((byte[])r.GetValue(18))),
            ModelReported = Text(7),
            Usage = new TokenUsage(Convert.ToInt32(r.GetValue(8), CultureInfo.InvariantCulture), Convert.ToInt32(r.GetValue(9), CultureInfo.InvariantCulture)),
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

    /// <summary>A time as the ledger stores it: UTC text of fixed width, so comparing the text compares the times.</summary>
    protected static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A stored time.</summary>
    protected static DateTimeOffset ParseTime(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}
