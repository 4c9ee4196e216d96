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

    [Fact]
    public async Task A_request_is_pending_before_sending_and_answered_after_and_survives_reopening()
    {
        using var dir = new ScratchFolder();
        var path = dir.File("ledger.db");
        var hash = RequestHash.Of(Teacher, "{\"messages\":[]}");
        await using (var ledger = await TeacherLedger.OpenAsync(path))
        {
            Assert.Equal("wal", await ledger.JournalModeAsync());
            Assert.Null(await ledger.FindAsync(hash));
            await ledger.RecordSendingAsync(hash, Teacher, "{\"messages\":[]}", T0);
            var pending = (await ledger.FindAsync(hash))!;
            Assert.Equal(LedgerStatus.Pending, pending.Status);
            Assert.Equal(1, pending.Sends);
            await ledger.RecordAnsweredAsync(hash, "{\"text\":\"hi\"}", "gpt-x-2026", new TokenUsage(7, 3), 0.0125m, 2, T0.AddMilliseconds(1500));
        }
        await using (var reopened = await TeacherLedger.OpenAsync(path))
        {
            var entry = (await reopened.FindAsync(hash))!;
            Assert.Equal(LedgerStatus.Answered, entry.Status);
            Assert.Equal("{\"text\":\"hi\"}", entry.Response);
            Assert.Equal("gpt-x-2026", entry.ModelReported);
            Assert.Equal(new TokenUsage(7, 3), entry.Usage);
            Assert.Equal(0.0125m, entry.CostUsd);
            Assert.Equal(2, entry.Retries);
            Assert.Equal(T0, entry.Sent);
            Assert.Equal(T0.AddMilliseconds(1500), entry.Completed);
            Assert.Equal(1500, entry.DurationMs!.Value, 0);
            // Answered is final: the ledger refuses to send it again.
            await Assert.ThrowsAsync<InvalidOperationException>(() => reopened.RecordSendingAsync(hash, Teacher, "{}", T0));
            await reopened.RecordFailedAsync(hash, "late failure", 0, T0);
            Assert.Equal(LedgerStatus.Answered, (await reopened.FindAsync(hash))!.Status);
        }
    }

    [Fact]
    public async Task A_failed_request_is_sent_again_and_counts_its_sends()
    {
        using var dir = new ScratchFolder();
        await using var ledger = await TeacherLedger.OpenAsync(dir.File("ledger.db"));
        await ledger.RecordSendingAsync("h1", Teacher, "{}", T0);
        await ledger.RecordFailedAsync("h1", "HTTP 400: bad", 0, T0.AddSeconds(1));
        var failed = (await ledger.FindAsync("h1"))!;
        Assert.Equal(LedgerStatus.Failed, failed.Status);
        Assert.Equal("HTTP 400: bad", failed.Error);

        await ledger.RecordSendingAsync("h1", Teacher, "{}", T0.AddMinutes(1));
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
            await target.RecordSendingAsync($"h{i}", Teacher, $"{{\"i\":{i}}}", T0);
            // Once the call returns the write is committed: a second connection sees it.
            Assert.Equal(LedgerStatus.Pending, (await (target == ledger ? other : ledger).FindAsync($"h{i}"))!.Status);
            await target.RecordAnsweredAsync($"h{i}", "{}", "m", new TokenUsage(i, 1), 0, 0, T0.AddSeconds(1));
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
            var response = new string('x', 6000);
            for (var i = 0; i < 300; i++)
            {
                await ledger.RecordSendingAsync($"h{i}", Teacher, "{}", T0);
                await ledger.RecordAnsweredAsync($"h{i}", response, "m", new TokenUsage(1, 1), 0, 0, T0);
            }
            // Automatic checkpoints are off; the background checkpointer copies committed pages into the file itself.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (new FileInfo(path).Length < emptySize + 300 * 6000 && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.True(new FileInfo(path).Length >= emptySize + 300 * 6000, $"database file {new FileInfo(path).Length} bytes: no checkpoint ran");
        }
        Assert.False(File.Exists(path + "-wal"));
        await using var reopened = await TeacherLedger.OpenAsync(path);
        Assert.Equal(300, (await reopened.AnsweredHashesAsync()).Count);
    }

    [Fact]
    public async Task A_refused_send_in_a_group_commit_fails_only_its_own_caller()
    {
        using var dir = new ScratchFolder();
        await using var ledger = await TeacherLedger.OpenAsync(dir.File("ledger.db"));
        await ledger.RecordSendingAsync("done", Teacher, "{}", T0);
        await ledger.RecordAnsweredAsync("done", "{}", "m", new TokenUsage(1, 1), 0, 0, T0);
        var sends = Enumerable.Range(0, 64).Select(i => Task.Run(() => ledger.RecordSendingAsync(i == 32 ? "done" : $"h{i}", Teacher, "{}", T0))).ToList();
        var outcomes = await Task.WhenAll(sends.Select(async t =>
        {
            try { await t; return "ok"; }
            catch (InvalidOperationException) { return "refused"; }
        }));
        Assert.Equal(63, outcomes.Count(o => o == "ok"));
        Assert.Equal("refused", outcomes[32]);
        Assert.Equal(64, (await ledger.ReadAllAsync()).Count); // "done" and the 63 others
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
}
