using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Ledger;
using Distillery.Core.Provenance;
using Distillery.TestSupport.Files;

namespace Distillery.Core.Tests.Ledger;

public sealed class TeacherLedgerTests
{
    private static readonly TeacherIdentity Teacher = new("openai", "gpt-x", "https://api.example.com/v1");
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private static readonly LedgerLease Mine = new("me", TimeSpan.FromSeconds(30));
    private static readonly LedgerLease Theirs = new("them", TimeSpan.FromSeconds(30));

    [Fact]
    public async Task A_request_is_pending_before_sending_and_answered_after_and_survives_reopening()
    {
        using var dir = new ScratchFolder();
        var path = dir.File("ledger.db");
        var hash = RequestHash.Of(Teacher, "{\"messages\":[]}");
        await using (var ledger = await TeacherLedger.OpenAsync(path))
        {
            Assert.Equal("wal", await ((SqliteLedger)ledger).JournalModeAsync());
            Assert.Null(await ledger.FindAsync(hash));
            Assert.Equal(ClaimOutcome.Claimed, (await ledger.ClaimAsync(hash, Teacher, "{\"messages\":[]}", Mine, T0)).Outcome);
            var pending = (await ledger.FindAsync(hash))!;
            Assert.Equal(LedgerStatus.Pending, pending.Status);
            Assert.Equal(1, pending.Sends);
            await ledger.RecordAnsweredAsync(hash, new Completion("hi", [], "stop", "gpt-x-2026", new TokenUsage(7, 3)), 0.0125m, 2, T0.AddMilliseconds(1500));
        }
        await using (var reopened = await TeacherLedger.OpenAsync(path))
        {
            var entry = (await reopened.FindAsync(hash))!;
            Assert.Equal(LedgerStatus.Answered, entry.Status);
            Assert.Equal(("hi", "stop", "gpt-x-2026"), (entry.Response!.Text, entry.Response.FinishReason, entry.Response.Model));
            Assert.Equal(new TokenUsage(7, 3), entry.Response.Usage);
            Assert.Equal("gpt-x-2026", entry.ModelReported);
            Assert.Equal(new TokenUsage(7, 3), entry.Usage);
            Assert.Equal(0.0125m, entry.CostUsd);
            Assert.Equal(2, entry.Retries);
            Assert.Equal(T0, entry.Sent);
            Assert.Equal(T0.AddMilliseconds(1500), entry.Completed);
            Assert.Equal(1500, entry.DurationMs!.Value, 0);
            // Answered is final: a claim reads it, never sends it again.
            Assert.Equal(ClaimOutcome.Answered, (await reopened.ClaimAsync(hash, Teacher, "{}", Theirs, T0)).Outcome);
            await reopened.RecordFailedAsync(hash, "late failure", 0, T0);
            Assert.Equal(LedgerStatus.Answered, (await reopened.FindAsync(hash))!.Status);
        }
    }

    [Fact]
    public async Task A_failed_request_is_sent_again_and_counts_its_sends()
    {
        using var dir = new ScratchFolder();
        await using var ledger = await TeacherLedger.OpenAsync(dir.File("ledger.db"));
        await ledger.ClaimAsync("h1", Teacher, "{}", Mine, T0);
        await ledger.RecordFailedAsync("h1", "HTTP 400: bad", 0, T0.AddSeconds(1));
        var failed = (await ledger.FindAsync("h1"))!;
        Assert.Equal(LedgerStatus.Failed, failed.Status);
        Assert.Equal("HTTP 400: bad", failed.Error);

        await ledger.ClaimAsync("h1", Teacher, "{}", Mine, T0.AddMinutes(1));
        var again = (await ledger.FindAsync("h1"))!;
        Assert.Equal(LedgerStatus.Pending, again.Status);
        Assert.Equal(2, again.Sends);
        Assert.Null(again.Error);
        Assert.Equal(T0, again.Created);
    }

    [Fact]
    public async Task Concurrent_writers_in_one_process_and_a_second_connection_see_every_row()
    {
        using var dir = new ScratchFolder();
        var path = dir.File("ledger.db");
        await using var ledger = await TeacherLedger.OpenAsync(path);
        await using var other = await TeacherLedger.OpenAsync(path);
        // Thread-pool tasks, so writes really overlap and are committed in groups.
        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            var target = i % 2 == 0 ? ledger : other;
            await target.ClaimAsync($"h{i}", Teacher, $"{{\"i\":{i}}}", Mine, T0);
            // Once the call returns the write is committed: a second connection sees it.
            Assert.Equal(LedgerStatus.Pending, (await (target == ledger ? other : ledger).FindAsync($"h{i}"))!.Status);
            await target.RecordAnsweredAsync($"h{i}", Answer("", new TokenUsage(i, 1)), 0, 0, T0.AddSeconds(1));
        })));
        var all = await other.ReadAllAsync();
        Assert.Equal(200, all.Count);
        Assert.All(all, e => Assert.Equal(LedgerStatus.Answered, e.Status));
        Assert.Equal(Enumerable.Range(0, 200).Sum(), all.Sum(e => e.Usage.PromptTokens));
    }

    [Fact]
    public async Task Checkpoints_copy_the_log_into_the_database_while_the_ledger_is_open_and_closing_removes_the_log()
    {
        using var dir = new ScratchFolder();
        var path = dir.File("ledger.db");
        await using (var ledger = await TeacherLedger.OpenAsync(path))
        {
            var emptySize = new FileInfo(path).Length;
            // Random bytes as base64: responses are stored compressed, so they must not compress below 6000 bytes.
            var random = new Random(7);
            for (var i = 0; i < 300; i++)
            {
                var bytes = new byte[6000];
                random.NextBytes(bytes);
                await ledger.ClaimAsync($"h{i}", Teacher, "{}", Mine, T0);
                await ledger.RecordAnsweredAsync($"h{i}", Answer(Convert.ToBase64String(bytes)), 0, 0, T0);
            }
            // Automatic checkpoints are off; the background checkpointer copies committed pages into the file itself, every 128
            // commits (600 here, a claim and an answer each): the one after commit 512 holds at least 250 answers.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (new FileInfo(path).Length < emptySize + 250 * 6000 && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.True(new FileInfo(path).Length >= emptySize + 250 * 6000, $"database file {new FileInfo(path).Length} bytes: no checkpoint ran");
        }
        Assert.False(File.Exists(path + "-wal"));
        await using var reopened = await TeacherLedger.OpenAsync(path);
        Assert.Equal(300, (await reopened.AnsweredHashesAsync()).Count);
    }

    [Fact]
    public async Task An_answered_request_in_a_group_commit_is_read_by_its_own_caller_and_the_others_are_claimed()
    {
        using var dir = new ScratchFolder();
        await using var ledger = await TeacherLedger.OpenAsync(dir.File("ledger.db"));
        await ledger.ClaimAsync("done", Teacher, "{}", Mine, T0);
        await ledger.RecordAnsweredAsync("done", Answer(), 0, 0, T0);
        var sends = Enumerable.Range(0, 64).Select(i => Task.Run(() => ledger.ClaimAsync(i == 32 ? "done" : $"h{i}", Teacher, "{}", Mine, T0))).ToList();
        var outcomes = await Task.WhenAll(sends);
        Assert.Equal(63, outcomes.Count(o => o.Outcome == ClaimOutcome.Claimed));
        Assert.Equal(ClaimOutcome.Answered, outcomes[32].Outcome);
        Assert.Equal(64, (await ledger.ReadAllAsync()).Count); // "done" and the 63 others
    }

    [Fact]
    public async Task A_claim_held_by_a_live_owner_is_refused_until_its_lease_runs_out_and_renewal_extends_it()
    {
        using var dir = new ScratchFolder();
        var path = dir.File("ledger.db");
        await using var ledger = await TeacherLedger.OpenAsync(path);
        await using var other = await TeacherLedger.OpenAsync(path); // another process's connection
        Assert.Equal(ClaimOutcome.Claimed, (await ledger.ClaimAsync("h", Teacher, "{}", Mine, T0)).Outcome);

        var refused = await other.ClaimAsync("h", Teacher, "{}", Theirs, T0.AddSeconds(10));
        Assert.Equal(new LedgerClaim(ClaimOutcome.HeldElsewhere, T0.AddSeconds(30)), refused);
        await ledger.RenewAsync(Mine, T0.AddSeconds(20));
        Assert.Equal(new LedgerClaim(ClaimOutcome.HeldElsewhere, T0.AddSeconds(50)), await other.ClaimAsync("h", Teacher, "{}", Theirs, T0.AddSeconds(40)));

        // The owner stops renewing (it died): from the instant its lease runs out the other takes the request over.
        Assert.Equal(ClaimOutcome.Claimed, (await other.ClaimAsync("h", Teacher, "{}", Theirs, T0.AddSeconds(50))).Outcome);
        Assert.Equal(2, (await ledger.FindAsync("h"))!.Sends);
        Assert.Equal(ClaimOutcome.HeldElsewhere, (await ledger.ClaimAsync("h", Teacher, "{}", Mine, T0.AddSeconds(52))).Outcome);

        // A released claim is free at once; an answered request is read by everyone.
        await other.ReleaseAsync(Theirs.Owner);
        Assert.Equal(ClaimOutcome.Claimed, (await ledger.ClaimAsync("h", Teacher, "{}", Mine, T0.AddSeconds(53))).Outcome);
        await ledger.RecordAnsweredAsync("h", Answer(), 0, 0, T0.AddSeconds(54));
        Assert.Equal(ClaimOutcome.Answered, (await other.ClaimAsync("h", Teacher, "{}", Theirs, T0.AddHours(1))).Outcome);
    }

    [Fact]
    public async Task A_ledger_from_before_claims_gains_their_columns_on_open_and_keeps_its_rows()
    {
        using var dir = new ScratchFolder();
        var path = dir.File("old.db");
        await using (var old = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await old.OpenAsync();
            await using var create = old.CreateCommand();
            create.CommandText = """
                CREATE TABLE requests (hash TEXT PRIMARY KEY, provider TEXT NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL, request TEXT NOT NULL,
                    status TEXT NOT NULL, response TEXT, model_reported TEXT, prompt_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
                    cost_usd TEXT NOT NULL DEFAULT '0', sends INTEGER NOT NULL DEFAULT 0, retries INTEGER NOT NULL DEFAULT 0, error TEXT, created_utc TEXT NOT NULL,
                    sent_utc TEXT, completed_utc TEXT, duration_ms REAL);
                INSERT INTO requests (hash, provider, model, endpoint, request, status, response, created_utc) VALUES ('a', 'openai', 'm', 'e', '{}', 'answered', '{"text":"old","tokens":[],"finish_reason":"stop","model":"m-1","usage":{"prompt_tokens":2,"completion_tokens":3}}', '2026-01-01T00:00:00.0000000Z');
                INSERT INTO requests (hash, provider, model, endpoint, request, status, sends, created_utc) VALUES ('p', 'openai', 'm', 'e', '{}', 'pending', 1, '2026-01-01T00:00:00.0000000Z');
                """;
            await create.ExecuteNonQueryAsync();
        }
        await using var ledger = await TeacherLedger.OpenAsync(path);
        Assert.Equal(("old", "m-1", new TokenUsage(2, 3)), (await ledger.FindAsync("a"))!.Response is { } answer ? (answer.Text, answer.Model, answer.Usage) : default);
        // A request left pending by a process from before claims has no owner: the next run takes it.
        Assert.Equal(ClaimOutcome.Claimed, (await ledger.ClaimAsync("p", Teacher, "{}", Mine, T0)).Outcome);
        Assert.Equal(2, (await ledger.FindAsync("p"))!.Sends);
    }

    [Fact]
    public void The_hash_depends_on_teacher_model_endpoint_and_request()
    {
        var request = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
        var hashes = new[]
        {
            RequestHash.Of(Teacher, request),
            RequestHash.Of(Teacher with { Provider = "other" }, request),
            RequestHash.Of(Teacher with { Model = "gpt-y" }, request),
            RequestHash.Of(Teacher with { Endpoint = "http://127.0.0.1:1/v1" }, request),
            RequestHash.Of(Teacher, request.Replace("hi", "ho", StringComparison.Ordinal)),
        };
        Assert.Equal(hashes.Length, hashes.Distinct().Count());
        Assert.Equal(hashes[0], RequestHash.Of(new TeacherIdentity("openai", "gpt-x", "https://api.example.com/v1"), request));
        Assert.Equal(RequestHash.Canonical(new SamplingParameters()), RequestHash.Canonical(new SamplingParameters()));
    }

    [Fact]
    public async Task A_file_that_is_not_a_ledger_is_a_one_line_error()
    {
        using var dir = new ScratchFolder();
        var path = dir.File("ledger.db");
        await System.IO.File.WriteAllTextAsync(path, new string('x', 4096));
        var e = await Assert.ThrowsAsync<Distillery.Core.Errors.DistilleryException>(() => TeacherLedger.OpenAsync(path));
        Assert.StartsWith($"{path}: cannot open the ledger", e.Message, StringComparison.Ordinal);
    }

    /// <summary>An answer with no tokens.</summary>
    private static Completion Answer(string text = "", TokenUsage? usage = null) => new(text, [], "stop", "m", usage ?? new TokenUsage(1, 1));
}
