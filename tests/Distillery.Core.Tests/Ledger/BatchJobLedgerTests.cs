using System;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Ledger;
using Distillery.Core.Provenance;
using Distillery.TestSupport.Databases;

namespace Distillery.Core.Tests.Ledger;

/// <summary>The ledger's Batch API jobs, the same in SQLite and PostgreSQL: recorded before the upload, found again while a request is unanswered, each request under its latest job.</summary>
public sealed class BatchJobLedgerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    private static readonly TeacherIdentity Teacher = new("openai", "gpt-test", "https://api.example/v1");

    [Fact]
    public Task Sqlite_keeps_jobs_until_their_requests_are_answered() => LedgerBackends.OnSqliteAsync(JobsAreKeptUntilAnsweredAsync);

    [PostgresFact]
    public Task Postgres_keeps_jobs_until_their_requests_are_answered() => LedgerBackends.OnPostgresAsync(JobsAreKeptUntilAnsweredAsync);

    private static async Task JobsAreKeptUntilAnsweredAsync(TeacherLedger ledger)
    {
        await ledger.RecordBatchJobAsync("job-a", ["h1", "h2", "h3"], T0);
        await ledger.RecordBatchJobAsync("job-b", ["h4"], T0.AddSeconds(1));
        await ledger.RecordBatchIdAsync("job-a", "batch_1");

        var open = (await ledger.OpenBatchJobsAsync()).OrderBy(j => j.JobId).ToList();
        Assert.Equal([("job-a", "batch_1", "h1,h2,h3"), ("job-b", null, "h4")], open.Select(j => (j.JobId, j.BatchId, string.Join(',', j.Hashes.Order()))));

        // h2 answered; h3 went again in a later job (job-c), which now holds it; job-b never became a batch.
        var lease = new LedgerLease("me", TimeSpan.FromSeconds(30));
        await ledger.ClaimAsync("h2", Teacher, "{}", lease, T0);
        await ledger.RecordAnsweredAsync("h2", new Completion("", [], "stop", "gpt-test", new TokenUsage(1, 1)), 0m, 0, T0);
        await ledger.RecordBatchJobAsync("job-c", ["h3"], T0.AddSeconds(2));
        await ledger.RecordBatchIdAsync("job-c", "batch_2");
        await ledger.AbandonBatchJobAsync("job-b");

        open = (await ledger.OpenBatchJobsAsync()).OrderBy(j => j.JobId).ToList();
        Assert.Equal([("job-a", "batch_1", "h1"), ("job-c", "batch_2", "h3")], open.Select(j => (j.JobId, j.BatchId, string.Join(',', j.Hashes.Order()))));
    }
}
