using System;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Ledger;
using Distillery.Core.Provenance;
using Distillery.TestSupport.Databases;

namespace Distillery.Core.Tests.Ledger;

/// <summary>A request in a Batch API job that may still be live counts as claimed, the same in SQLite and PostgreSQL: an owner that does not follow batches may not take it, one that does may.</summary>
public sealed class BatchHoldLedgerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    private static readonly TeacherIdentity Teacher = new("openai", "gpt-test", "https://api.example/v1");
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    [Fact]
    public Task Sqlite_holds_a_dead_batch_process_requests_for_owners_that_do_not_follow_batches() => LedgerBackends.OnSqliteAsync(BatchJobsHoldTheirRequestsAsync);

    [PostgresFact]
    public Task Postgres_holds_a_dead_batch_process_requests_for_owners_that_do_not_follow_batches() => LedgerBackends.OnPostgresAsync(BatchJobsHoldTheirRequestsAsync);

    private static async Task BatchJobsHoldTheirRequestsAsync(TeacherLedger ledger)
    {
        // A --batch process claimed h1..h3 at T0 and put them in jobs: h1 in a batch, h2 in a job abandoned (no batch was made), h3 in one
        // created at T0 that is looked at after the hold limit. Then it died: its claims are not renewed.
        var dead = new LedgerLease("dead-batch-process", Lease, FollowsBatches: true);
        foreach (var hash in new[] { "h1", "h2", "h3" }) Assert.Equal(ClaimOutcome.Claimed, (await ledger.ClaimAsync(hash, Teacher, "{}", dead, T0)).Outcome);
        await ledger.RecordBatchJobAsync("job-live", ["h1"], T0);
        await ledger.RecordBatchIdAsync("job-live", "batch_1");
        await ledger.RecordBatchJobAsync("job-abandoned", ["h2"], T0);
        await ledger.AbandonBatchJobAsync("job-abandoned");
        await ledger.RecordBatchJobAsync("job-old", ["h3"], T0);
        var afterLease = T0 + Lease + TimeSpan.FromSeconds(1);
        var plain = new LedgerLease("plain-process", Lease);
        var batchFollower = new LedgerLease("batch-process", Lease, FollowsBatches: true);

        // Before the lease runs out, everyone else is refused by the claim itself.
        Assert.Equal(new LedgerClaim(ClaimOutcome.HeldElsewhere, T0 + Lease), await ledger.ClaimAsync("h1", Teacher, "{}", batchFollower, T0 + TimeSpan.FromSeconds(5)));

        // After it, the batch still holds h1 against a process that would send it on its own (looked at again after a lease) ...
        Assert.Equal(new LedgerClaim(ClaimOutcome.HeldElsewhere, afterLease + Lease), await ledger.ClaimAsync("h1", Teacher, "{}", plain, afterLease));
        // ... and not against one that follows the batch (it waits for that batch instead of sending again).
        Assert.Equal(ClaimOutcome.Claimed, (await ledger.ClaimAsync("h1", Teacher, "{}", batchFollower, afterLease)).Outcome);

        // An abandoned job holds nothing; a job past the hold limit neither.
        Assert.Equal(ClaimOutcome.Claimed, (await ledger.ClaimAsync("h2", Teacher, "{}", plain, afterLease)).Outcome);
        Assert.Equal(ClaimOutcome.HeldElsewhere, (await ledger.ClaimAsync("h3", Teacher, "{}", plain, afterLease)).Outcome);
        Assert.Equal(ClaimOutcome.Claimed, (await ledger.ClaimAsync("h3", Teacher, "{}", plain, T0 + TeacherLedger.BatchHoldLimit + TimeSpan.FromSeconds(1))).Outcome);

        // Once answered, the batch's request is answered for everyone.
        await ledger.RecordAnsweredAsync("h1", new Completion("", [], "stop", "gpt-test", new TokenUsage(1, 1)), 0m, 0, afterLease);
        Assert.Equal(ClaimOutcome.Answered, (await ledger.ClaimAsync("h1", Teacher, "{}", plain, afterLease)).Outcome);
    }
}
