using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Ledger;
using Distillery.Core.Pricing;
using Distillery.Teachers.Batch;
using Distillery.Teachers.Labeling;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;
using Distillery.TestSupport.Time;
using Microsoft.Extensions.Time.Testing;

namespace Distillery.Teachers.Tests.Batch;

/// <summary><c>distill generate --batch</c>'s library path (<see cref="BatchTeacher"/> under the <see cref="LabelingRunner"/>) against the fake Batch API on loopback, in fake time.</summary>
public sealed class BatchLabelingTests
{
    private static readonly SamplingParameters Sampling = new() { Temperature = 0, MaxTokens = 16, TopLogprobs = 3 };
    private static readonly BatchSettings Settings = new() { PollInterval = TimeSpan.FromSeconds(5), GatherWindow = TimeSpan.FromSeconds(1) };
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Prompts_go_out_as_one_batch_file_and_come_back_as_rows_at_batch_prices()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeBatchServer.StartAsync();
        var options = Options(dir, 9);

        var (summary, warnings) = await RunAsync(server, options);

        Assert.True(summary.Succeeded);
        Assert.Equal(9, summary.Answered);
        var rows = await DatasetReader.ReadAllRowsAsync(options.OutputDirectory);
        Assert.Equal(Enumerable.Range(0, 9).Select(i => $"p{i}"), rows.Select(r => r.Distillery!.PromptId));
        var p = rows[4].Distillery!;
        Assert.Equal("echo 4 number story tell", rows[4].Messages[^1].Content);
        Assert.Equal("fake-gpt-2026-01-01", p.Teacher.Model);
        Assert.Equal("gpt-test", p.Teacher.RequestedModel);
        Assert.All(p.Tokens, t => Assert.Equal(3, t.TopLogprobs.Count));
        // Half the listed price (2 and 8 per million).
        Assert.Equal((p.Usage.PromptTokens * 1m + p.Usage.CompletionTokens * 4m) / 1_000_000m, p.CostUsd);

        var batch = Assert.Single(server.Batches);
        Assert.Equal("completed", batch.State);
        var jobId = batch.Metadata[OpenAiBatchApi.JobMetadataKey];
        var (name, content) = server.File(batch.InputFileId);
        Assert.Contains(jobId, name, StringComparison.Ordinal);
        var lines = content.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(rows.Select(r => r.Distillery!.RequestHash).Order(), lines.Select(l => (string)l["custom_id"]!).Order());
        Assert.All(lines, l => Assert.Equal(("POST", "/v1/chat/completions", "gpt-test", true), ((string)l["method"]!, (string)l["url"]!, (string)l["body"]!["model"]!, (bool)l["body"]!["logprobs"]!)));
        Assert.All(server.Submitted.Values, n => Assert.Equal(1, n));
        Assert.Empty(warnings);

        // Every request is answered: no job is open, and a second run sends nothing.
        await using (var ledger = await TeacherLedger.OpenAsync(options.LedgerLocation))
            Assert.Empty(await ledger.OpenBatchJobsAsync());
        var (again, _) = await RunAsync(server, options);
        Assert.Equal(9, again.AlreadyPresent);
        Assert.Single(server.Batches);
    }

    [Fact]
    public async Task A_batch_that_expires_with_some_requests_done_sends_the_rest_in_a_new_batch()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeBatchServer.StartAsync();
        server.ExpireAfter = 4;
        var options = Options(dir, 10);

        var (summary, _) = await RunAsync(server, options, afterFirstBatch: () => server.ExpireAfter = null);

        Assert.True(summary.Succeeded);
        Assert.Equal(10, (await DatasetReader.ReadAllRowsAsync(options.OutputDirectory)).Count);
        Assert.Equal(["expired", "completed"], server.Batches.Select(b => b.State));
        Assert.Equal(6, server.Batches[1].Lines.Count);
        AnsweredOnce(server, 10);
    }

    [Fact]
    public async Task Requests_in_the_error_file_are_sent_again_when_a_retry_can_help_and_fail_when_not()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeBatchServer.StartAsync();
        server.Status = (prompt, attempt) => prompt.EndsWith(" 2", StringComparison.Ordinal) && attempt == 1 ? 500 : prompt.EndsWith(" 5", StringComparison.Ordinal) ? 400 : 200;
        var options = Options(dir, 8);

        var (summary, _) = await RunAsync(server, options);

        Assert.Equal(1, summary.Failed);
        Assert.Contains("400", Assert.Single(summary.Errors), StringComparison.Ordinal);
        var rows = await DatasetReader.ReadAllRowsAsync(options.OutputDirectory);
        Assert.Equal(Enumerable.Range(0, 8).Where(i => i != 5).Select(i => $"p{i}"), rows.Select(r => r.Distillery!.PromptId));
        Assert.NotNull(server.Batches[0].ErrorFileId);
        // The 500 went in a second batch; the 400 did not.
        Assert.Equal(["tell story number 2"], server.Batches[1].Lines.Select(l => FakeOpenAiServer.PromptOf(l["body"]!)));
        AnsweredOnce(server, 7);
    }

    [Fact]
    public async Task An_output_line_that_is_not_json_is_a_warning_naming_the_line_and_its_request_goes_in_the_next_batch()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeBatchServer.StartAsync();
        server.InvalidJson = (prompt, attempt) => prompt == "tell story number 3" && attempt == 1;
        var options = Options(dir, 6);

        var (summary, warnings) = await RunAsync(server, options);

        Assert.True(summary.Succeeded);
        Assert.Equal(6, (await DatasetReader.ReadAllRowsAsync(options.OutputDirectory)).Count);
        var warning = Assert.Single(warnings);
        Assert.Matches("batch batch_0001: line [1-6] of its output file file-[0-9]+ is not valid JSON", warning);
        Assert.Equal(2, server.Batches.Count);
        Assert.Equal(2, server.Submitted.Values.Sum() - 5);
    }

    [Fact]
    public async Task A_run_killed_after_the_upload_before_the_batch_id_is_stored_finds_its_batch_by_metadata_and_sends_nothing_twice()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeBatchServer.StartAsync();
        server.DropCreateResponses(1);
        var options = Options(dir, 7);

        var (first, _) = await RunAsync(server, options);

        Assert.Equal(7, first.Failed);
        var batch = Assert.Single(server.Batches);
        await using (var ledger = await TeacherLedger.OpenAsync(options.LedgerLocation))
        {
            var job = Assert.Single(await ledger.OpenBatchJobsAsync());
            Assert.Null(job.BatchId);
            Assert.Equal(batch.Metadata[OpenAiBatchApi.JobMetadataKey], job.JobId);
        }

        var (second, _) = await RunAsync(server, options);

        await ResumedInTheOneBatchAsync(server, options, second, 7);
    }

    [Fact]
    public async Task A_run_killed_while_its_batch_is_in_progress_resumes_on_the_stored_batch_id_and_sends_nothing_twice()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeBatchServer.StartAsync();
        server.PollsInProgress = 3;
        var options = Options(dir, 7);
        using var kill = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RunAsync(server, options, kill: kill, watch: p =>
        {
            if (p.Jobs.Any(j => j.State == "in_progress")) kill.Cancel();
        }));
        Assert.Equal("in_progress", Assert.Single(server.Batches).State);
        Assert.Empty(await DatasetReader.ReadAllRowsAsync(options.OutputDirectory));

        var (second, _) = await RunAsync(server, options);

        await ResumedInTheOneBatchAsync(server, options, second, 7);
    }

    [Fact]
    public async Task A_cancelled_batch_is_reconciled_its_requests_going_in_a_new_batch()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeBatchServer.StartAsync();
        server.PollsInProgress = 2;
        var options = Options(dir, 5);
        using var http = new System.Net.Http.HttpClient();
        var cancelled = false;

        var (summary, _) = await RunAsync(server, options, watch: p =>
        {
            // Someone cancels the batch on the provider's dashboard while it runs.
            if (!cancelled && p.Jobs.FirstOrDefault(j => j.State == "in_progress")?.BatchId is { } id)
            {
                cancelled = true;
                http.PostAsync(new Uri(server.BaseUrl + $"/batches/{id}/cancel"), null).GetAwaiter().GetResult().EnsureSuccessStatusCode();
            }
        });

        Assert.True(summary.Succeeded);
        Assert.Equal(["cancelled", "completed"], server.Batches.Select(b => b.State));
        await ExactlyOneRowPerPromptAsync(options, 5);
        AnsweredOnce(server, 5);
    }

    [Fact]
    public async Task Answers_reach_the_ledger_while_the_output_file_is_still_downloading()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeBatchServer.StartAsync();
        server.PauseContentAfterLines = 12;
        var options = Options(dir, 30);

        // Four answers at a time on their way into the ledger: the first 12 lines' answers are all recorded while the rest of the file waits.
        var run = RunAsync(server, options, settings: Settings with { AnswersInFlight = 4 });
        var answered = 0;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (answered < 12 && !run.IsCompleted && DateTime.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
            await using var ledger = await TeacherLedger.OpenAsync(options.LedgerLocation);
            answered = (await ledger.ReadAllAsync()).Count(e => e.Status == LedgerStatus.Answered);
        }
        Assert.Equal(12, answered);
        Assert.False(run.IsCompleted);

        server.ResumeContent();
        var (summary, warnings) = await run;
        Assert.True(summary.Succeeded);
        Assert.Equal(30, summary.Answered);
        Assert.Empty(warnings);
        await ExactlyOneRowPerPromptAsync(options, 30);
        AnsweredOnce(server, 30);
    }

    private static LabelingOptions Options(ScratchFolder dir, int count)
    {
        var prompts = dir.File("prompts.jsonl");
        File.WriteAllLines(prompts, Enumerable.Range(0, count).Select(i => $"{{\"id\":\"p{i}\",\"prompt\":\"tell story number {i}\"}}"));
        return new LabelingOptions { PromptsPath = prompts, OutputDirectory = dir.File("out"), Sampling = Sampling, Price = new ModelPrice(2m, 8m) };
    }

    /// <summary>One run, as <c>distill generate --batch</c> makes it, driven in fake time; the summary and the teacher's warnings.</summary>
    private static async Task<(LabelingSummary Summary, IReadOnlyList<string> Warnings)> RunAsync(FakeBatchServer server, LabelingOptions options,
        CancellationTokenSource? kill = null, Action<BatchProgress>? watch = null, Action? afterFirstBatch = null, BatchSettings? settings = null)
    {
        var clock = new FakeTimeProvider(T0);
        var firstDone = false;
        var progress = new Watch(p =>
        {
            watch?.Invoke(p);
            if (!firstDone && p.Jobs.Count == 0 && server.Batches.Count > 0 && afterFirstBatch is not null)
            {
                firstDone = true;
                afterFirstBatch();
            }
        });
        await using var teacher = await BatchTeacher.OpenAsync("gpt-test", server.BaseUrl, "no-key", TimeSpan.FromSeconds(30), options.LedgerLocation, settings ?? Settings, clock, progress);
        var runner = new LabelingRunner(teacher, options.ThroughBatch(), clock);
        var summary = await clock.RunAsync(runner.RunAsync(cancellationToken: kill?.Token ?? CancellationToken.None), TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(2));
        return (summary, teacher.Warnings);
    }

    private static void AnsweredOnce(FakeBatchServer server, int prompts)
    {
        Assert.Equal(prompts, server.AnsweredByPrompt.Count);
        Assert.All(server.AnsweredByPrompt, p => Assert.Equal(1, p.Value));
    }

    /// <summary>A resumed run answered every prompt from the one batch the first run made, and nothing was submitted twice.</summary>
    private static async Task ResumedInTheOneBatchAsync(FakeBatchServer server, LabelingOptions options, LabelingSummary resumed, int prompts)
    {
        Assert.True(resumed.Succeeded);
        Assert.Equal(prompts, resumed.Answered);
        Assert.Single(server.Batches);
        Assert.All(server.Submitted.Values, n => Assert.Equal(1, n));
        await ExactlyOneRowPerPromptAsync(options, prompts);
    }

    private static async Task ExactlyOneRowPerPromptAsync(LabelingOptions options, int count)
    {
        var rows = await DatasetReader.ReadAllRowsAsync(options.OutputDirectory);
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"p{i}"), rows.Select(r => r.Distillery!.PromptId));
    }

    /// <summary>Progress reported on the reporting thread, so a test can act at an exact point.</summary>
    private sealed class Watch(Action<BatchProgress> action) : IProgress<BatchProgress>
    {
        public void Report(BatchProgress value) => action(value);
    }
}
