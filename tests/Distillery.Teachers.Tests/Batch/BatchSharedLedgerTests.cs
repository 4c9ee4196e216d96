using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Ledger;
using Distillery.Core.Pricing;
using Distillery.Teachers.Batch;
using Distillery.Teachers.Labeling;
using Distillery.Teachers.Ledger;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;
using Distillery.TestSupport.Time;
using Microsoft.Extensions.Time.Testing;

namespace Distillery.Teachers.Tests.Batch;

/// <summary>A <c>--batch</c> run on a ledger another <c>--batch</c> process shares: it submits only what it claimed, and follows a dead process's batch instead of submitting its requests again.</summary>
public sealed class BatchSharedLedgerTests
{
    private static readonly SamplingParameters Sampling = new() { Temperature = 0, MaxTokens = 16, TopLogprobs = 3 };
    private static readonly BatchSettings Settings = new() { PollInterval = TimeSpan.FromSeconds(5), GatherWindow = TimeSpan.FromSeconds(1) };
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan OtherLease = TimeSpan.FromHours(1);

    [Fact]
    public async Task A_batch_run_submits_only_its_claims_then_follows_the_batch_of_a_process_that_died_instead_of_submitting_again()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeBatchServer.StartAsync();
        var prompts = dir.File("prompts.jsonl");
        await File.WriteAllLinesAsync(prompts, Enumerable.Range(0, 10).Select(i => $"{{\"id\":\"p{i}\",\"prompt\":\"tell story number {i}\"}}"));
        var options = new LabelingOptions { PromptsPath = prompts, OutputDirectory = dir.File("out"), Sampling = Sampling, Price = new ModelPrice(2m, 8m), TakeShare = true };
        var clock = new FakeTimeProvider(T0);
        await using var teacher = await BatchTeacher.OpenAsync("gpt-test", server.BaseUrl, "no-key", TimeSpan.FromSeconds(30), options.LedgerLocation, Settings, clock);

        // Another --batch process, after this one opened the ledger, claimed p0..p3 and sent them in a batch; it dies before storing the batch id.
        var theirs = Enumerable.Range(0, 4).Select(i => Request(teacher, i)).ToList();
        await SubmitAsAnotherProcessAsync(server, options.LedgerLocation, teacher, theirs);

        // While its claims live, this run skips p0..p3 and submits p4..p9 only.
        var first = await clock.RunAsync(new LabelingRunner(teacher, options.ThroughBatch(), clock).RunAsync(), TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(30));

        Assert.True(first.Succeeded);
        Assert.Equal((6, 4), (first.Answered, first.LeftToOthers));
        Assert.Equal(2, server.Batches.Count);
        Assert.Equal(theirs.Select(r => r.Key!.Hash).Order(), server.Batches[0].Lines.Select(l => (string)l["custom_id"]!).Order());
        Assert.Equal(6, server.Batches[1].Lines.Count);
        Assert.Equal(Enumerable.Range(4, 6).Select(i => $"p{i}"), await PromptIdsAsync(options));

        // The other process is dead (its claims ran out): this run takes p0..p3 over, finds their batch by its metadata and collects it.
        clock.Advance(OtherLease);
        var second = await clock.RunAsync(new LabelingRunner(teacher, options.ThroughBatch(), clock).RunAsync(), TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(30));

        Assert.True(second.Succeeded);
        Assert.Equal((4, 0, 6), (second.Answered, second.LeftToOthers, second.AlreadyPresent));
        Assert.Equal(2, server.Batches.Count); // no new batch: p0..p3 came from the dead process's
        Assert.Equal(10, server.Submitted.Count);
        Assert.All(server.Submitted.Values, n => Assert.Equal(1, n));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"p{i}"), await PromptIdsAsync(options));
    }

    /// <summary>Sample 0 of prompt i, keyed as the run keys it.</summary>
    private static TeacherRequest Request(BatchTeacher teacher, int i)
    {
        IReadOnlyList<ChatMessage> messages = [ChatMessage.User($"tell story number {i}")];
        return new TeacherRequest(messages, Sampling) { Key = LedgerKey.For(teacher.Identity, messages, Sampling, 0) };
    }

    /// <summary>What a --batch process does with requests it claimed: the claims (an hour's lease), the job before the upload, the file, the batch.</summary>
    private static async Task SubmitAsAnotherProcessAsync(FakeBatchServer server, string ledgerPath, BatchTeacher teacher, List<TeacherRequest> requests)
    {
        await using var ledger = await TeacherLedger.OpenAsync(ledgerPath);
        var lease = new LedgerLease("other-batch-process", OtherLease, FollowsBatches: true);
        foreach (var request in requests)
            Assert.Equal(ClaimOutcome.Claimed, (await ledger.ClaimAsync(request.Key!.Hash, teacher.Identity, request.Key.Canonical, lease, T0)).Outcome);
        const string job = "dj-other-process";
        await ledger.RecordBatchJobAsync(job, [.. requests.Select(r => r.Key!.Hash)], T0);
        var api = new OpenAiBatchApi(server.BaseUrl, "no-key", TimeSpan.FromSeconds(30));
        var lines = string.Concat(requests.Select(r => BatchRequestLine.For(r.Key!.Hash, "gpt-test", r) + "\n"));
        var file = await api.UploadAsync(new MemoryStream(Encoding.UTF8.GetBytes(lines)), $"distillery-{job}.jsonl");
        await api.CreateAsync(file, job);
    }

    private static async Task<string[]> PromptIdsAsync(LabelingOptions options) =>
        [.. (await DatasetReader.ReadAllRowsAsync(options.OutputDirectory)).Select(r => r.Distillery!.PromptId)];
}
