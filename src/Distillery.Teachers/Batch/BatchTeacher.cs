using System;
using System.ClientModel;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Ledger;
using Distillery.Core.Provenance;
using Distillery.Teachers.Ledger;
using Distillery.Teachers.OpenAi;

namespace Distillery.Teachers.Batch;

/// <summary>
/// The <c>openai:MODEL</c> teacher through the Batch API: requests asked of it are gathered into JSONL files (one line per ledger key),
/// each file recorded in the ledger as a job before it is uploaded, sent as a batch with a 24-hour window, polled, and its answers handed
/// back to the callers. Wrapped by <see cref="LedgerTeacher"/>, its answers are recorded and written as rows like any teacher's.
/// </summary>
/// <remarks>
/// A run stopped at any point resumes: every job whose requests are still unanswered is found again by its stored batch id, or by the
/// job id in a batch's metadata, and a request such a batch holds waits for it instead of going out again. A job no batch was made of
/// is abandoned and its requests go in a new one. Expired, failed, cancelled and unreadable requests go in the next batch.
/// </remarks>
public sealed class BatchTeacher : ITeacher, IAsyncDisposable
{
    private readonly OpenAiBatchApi api;
    private readonly TeacherLedger ledger;
    private readonly BatchJobFinder finder;
    private readonly BatchSettings settings;
    private readonly TimeProvider clock;
    private readonly IProgress<BatchProgress>? progress;
    private readonly Lock gate = new();
    private readonly List<Waiter> gathering = [];
    private readonly Dictionary<string, Waiter> waiters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BatchJob> heldBy = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Completion> early = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> rounds = new(StringComparer.Ordinal);
    private readonly List<BatchJob> live = [];
    private readonly HashSet<string> followed = new(StringComparer.Ordinal);
    private readonly List<string> warnings = [];
    private readonly CancellationTokenSource closing = new();
    private readonly SemaphoreSlim handing;
    private readonly Task loop;
    private DateTimeOffset lastArrival;

    private BatchTeacher(OpenAiBatchApi api, TeacherLedger ledger, BatchJobFinder finder, TeacherIdentity identity, BatchSettings settings, TimeProvider clock,
        IProgress<BatchProgress>? progress, IEnumerable<BatchJob> resumed)
    {
        (this.api, this.ledger, this.finder, Identity, this.settings, this.clock, this.progress) = (api, ledger, finder, identity, settings, clock, progress);
        handing = new SemaphoreSlim(settings.AnswersInFlight);
        lock (gate) Follow(resumed);
        loop = Task.Run(RunAsync, CancellationToken.None);
    }

    /// <summary>
    /// Opens the teacher for <paramref name="model"/> at an OpenAI-compatible base URL, with the ledger at <paramref name="ledgerLocation"/> (the run's):
    /// finds again the batches of jobs an earlier run left unfinished. An unreachable Batch API is a one-line error.
    /// </summary>
    public static async Task<BatchTeacher> OpenAsync(string model, Uri baseUrl, string apiKey, TimeSpan timeout, string ledgerLocation, BatchSettings settings,
        TimeProvider? time = null, IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentNullException.ThrowIfNull(ledgerLocation);
        ArgumentNullException.ThrowIfNull(settings);
        var api = new OpenAiBatchApi(baseUrl, apiKey, timeout);
        var ledger = await TeacherLedger.OpenAsync(ledgerLocation, cancellationToken);
        try
        {
            var finder = new BatchJobFinder(api, ledger);
            var resumed = await finder.FindOpenAsync(cancellationToken);
            return new BatchTeacher(api, ledger, finder, new TeacherIdentity("openai", model, OpenAiTeacher.EndpointText(baseUrl)), settings, time ?? TimeProvider.System, progress, resumed);
        }
        catch (Exception e) when (e is ClientResultException or HttpRequestException)
        {
            await ledger.DisposeAsync();
            throw new DistilleryException($"the Batch API at {OpenAiTeacher.EndpointText(baseUrl)} did not answer ({ErrorText.FirstLine(e)}); the ledger's jobs are kept, rerun to go on", e);
        }
        catch
        {
            await ledger.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc />
    public TeacherIdentity Identity { get; }

    /// <summary>The warnings so far (unreadable output lines, batches that could not be looked at), oldest first.</summary>
    public IReadOnlyList<string> Warnings
    {
        get { lock (gate) return [.. warnings]; }
    }

    /// <summary>Answers the request once a batch has: the live batch that holds it, or the next file cut from the requests gathered.</summary>
    public async Task<Completion> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var hash = (request.Key ?? LedgerKey.For(Identity, request.Messages, request.Sampling, sample: 0)).Hash;
        Task<Completion> answer;
        lock (gate)
        {
            if (early.Remove(hash, out var done)) return done;
            if (!waiters.TryGetValue(hash, out var waiter))
            {
                waiter = new Waiter(hash, request);
                waiters[hash] = waiter;
                // A request a live batch holds waits for that batch: it is never sent twice.
                if (!heldBy.ContainsKey(hash)) Gather(waiter);
            }
            answer = waiter.Done.Task;
        }
        return await answer.WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await closing.CancelAsync();
        await loop;
        lock (gate)
        {
            foreach (var waiter in waiters.Values) waiter.Done.TrySetCanceled();
            waiters.Clear();
        }
        await ledger.DisposeAsync();
        closing.Dispose();
    }

    /// <summary>The loop: cuts files from the requests gathered and polls live batches, each on its interval, until the teacher closes.</summary>
    private async Task RunAsync()
    {
        var tick = settings.GatherWindow < settings.PollInterval ? settings.GatherWindow : settings.PollInterval;
        using var timer = new PeriodicTimer(tick / 2, clock);
        var nextPoll = clock.GetUtcNow(); // batches found again are looked at at once
        try
        {
            while (await timer.WaitForNextTickAsync(closing.Token))
            {
                while (TakeFile() is { } file) await SubmitAsync(file, closing.Token);
                if (clock.GetUtcNow() < nextPoll) continue;
                await PollAsync(closing.Token);
                nextPoll = clock.GetUtcNow() + settings.PollInterval;
            }
        }
        catch (OperationCanceledException) when (closing.IsCancellationRequested)
        {
            // Closing: what is in flight stays in the ledger and with the provider, for the next run.
        }
        catch (Exception e)
        {
            // A ledger or disk error: nothing more can be recorded, so every caller learns of it.
            lock (gate)
            {
                foreach (var waiter in waiters.Values) waiter.Done.TrySetException(e);
                waiters.Clear();
            }
        }
    }

    /// <summary>The next input file: the requests gathered once none has arrived for the gather window, or a full file at once; null when there is none yet.</summary>
    private List<Waiter>? TakeFile()
    {
        lock (gate)
        {
            if (gathering.Count == 0) return null;
            var quiet = clock.GetUtcNow() - lastArrival >= settings.GatherWindow;
            if (!quiet && gathering.Count < settings.MaxRequestsPerFile) return null;
            var file = new List<Waiter>();
            long bytes = 0;
            foreach (var waiter in gathering)
            {
                waiter.Line ??= BatchRequestLine.For(waiter.Hash, Identity.Model, waiter.Request);
                var size = Encoding.UTF8.GetByteCount(waiter.Line) + 1;
                if (file.Count > 0 && (file.Count == settings.MaxRequestsPerFile || bytes + size > settings.MaxBytesPerFile)) break;
                file.Add(waiter);
                bytes += size;
            }
            gathering.RemoveRange(0, file.Count);
            var job = new BatchJob(NewJobId(), [.. file.Select(w => w.Hash)]) { State = "uploading" };
            followed.Add(job.JobId);
            foreach (var waiter in file)
            {
                heldBy[waiter.Hash] = job;
                rounds[waiter.Hash] = rounds.GetValueOrDefault(waiter.Hash) + 1;
            }
            live.Add(job);
            return file;
        }
    }

    /// <summary>
    /// Records the job of a file in the ledger, uploads the file (the job id in its name), creates the batch (the job id in its metadata) and
    /// stores the batch id; requests a batch of a dead process still holds are left out and wait for that batch.
    /// </summary>
    private async Task SubmitAsync(List<Waiter> file, CancellationToken cancellationToken)
    {
        BatchJob job;
        lock (gate) job = heldBy[file[0].Hash];
        if (!await LeaveOutHeldAsync(file, job, cancellationToken)) return;
        Report();
        // Before the upload: a run killed from here on finds this job again, and its batch if one was made.
        await ledger.RecordBatchJobAsync(job.JobId, job.Hashes, clock.GetUtcNow(), cancellationToken);
        try
        {
            using var content = new MemoryStream();
            await using (var writer = new StreamWriter(content, new UTF8Encoding(false), leaveOpen: true))
                foreach (var waiter in file) await writer.WriteAsync(waiter.Line + "\n");
            content.Position = 0;
            var fileId = await api.UploadAsync(content, $"distillery-{job.JobId}.jsonl", cancellationToken);
            var batchId = await api.CreateAsync(fileId, job.JobId, cancellationToken);
            await ledger.RecordBatchIdAsync(job.JobId, batchId, cancellationToken);
            lock (gate) (job.BatchId, job.State, job.Total) = (batchId, "validating", job.Hashes.Count);
        }
        catch (Exception e) when (e is ClientResultException or HttpRequestException or IOException)
        {
            // Whether a batch was made is known only to the provider: the requests stay with the job, which the next run finds again
            // (by its metadata) or abandons, so none is sent twice. This run reports them failed.
            Fail(job, $"batch job {job.JobId} could not be submitted ({ErrorText.FirstLine(e)}); run the same command again to go on");
        }
        Report();
    }

    /// <summary>
    /// Follows the batches of other processes' jobs that hold requests of the file (this process claimed them: those processes died) and takes
    /// those requests out of the file, so none is sent twice; false when nothing is left to submit.
    /// </summary>
    private async Task<bool> LeaveOutHeldAsync(List<Waiter> file, BatchJob job, CancellationToken cancellationToken)
    {
        HashSet<string> known;
        lock (gate) known = [.. followed];
        var holders = await finder.HoldersAsync(job.Hashes, known, cancellationToken);
        lock (gate)
        {
            Follow(holders);
            foreach (var waiter in file.Where(w => heldBy[w.Hash] != job)) rounds[waiter.Hash]--;
            file.RemoveAll(w => heldBy[w.Hash] != job);
            job.Hashes.RemoveAll(h => heldBy[h] != job);
            job.Total = job.Hashes.Count;
            if (file.Count > 0) return true;
            live.Remove(job);
            return false;
        }
    }

    /// <summary>Follows jobs found in the ledger (the caller holds the gate): their batches are polled, and a request they hold waits for them.</summary>
    private void Follow(IEnumerable<BatchJob> jobs)
    {
        foreach (var job in jobs)
        {
            if (!followed.Add(job.JobId)) continue;
            live.Add(job);
            foreach (var hash in job.Hashes) heldBy[hash] = job;
        }
    }

    /// <summary>Looks at every live batch; collects those that are final.</summary>
    private async Task PollAsync(CancellationToken cancellationToken)
    {
        List<BatchJob> batches;
        lock (gate) batches = [.. live.Where(j => j.BatchId is not null)];
        foreach (var job in batches)
        {
            BatchSnapshot snapshot;
            try
            {
                snapshot = await api.GetAsync(job.BatchId!, cancellationToken);
            }
            catch (Exception e) when (e is ClientResultException or HttpRequestException or IOException)
            {
                Warn($"batch {job.BatchId} could not be looked at ({ErrorText.FirstLine(e)}); trying again in {settings.PollInterval.TotalSeconds:F0} s");
                continue;
            }
            lock (gate) (job.State, job.Total, job.Completed, job.Failed) = (snapshot.State, snapshot.Total, snapshot.Completed, snapshot.Failed);
            Report();
            if (snapshot.IsFinal) await CollectAsync(job, snapshot, cancellationToken);
        }
    }

    /// <summary>
    /// Reads a final batch's output and error files as they download, handing each answer on as it is read, and then settles
    /// the rest of its requests: failed for good, or gathered for the next batch. A download cut short leaves the job live:
    /// the next poll reads it again, and the answers already handed on are not handed on twice.
    /// </summary>
    private async Task CollectAsync(BatchJob job, BatchSnapshot snapshot, CancellationToken cancellationToken)
    {
        // Only what an unanswered request's line says is kept to the end (a line of text each); answers do not wait for the file's end.
        var failures = new Dictionary<string, BatchResult>(StringComparer.Ordinal);
        var answered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (kind, fileId) in new[] { ("output", snapshot.OutputFileId), ("error", snapshot.ErrorFileId) })
        {
            if (string.IsNullOrEmpty(fileId)) continue;
            try
            {
                await using var content = await api.OpenDownloadAsync(fileId, cancellationToken);
                using var reader = new StreamReader(content, Encoding.UTF8);
                var number = 0;
                while (await reader.ReadLineAsync(cancellationToken) is { } line)
                {
                    number++;
                    if (line.Trim().Length == 0) continue;
                    if (BatchResult.Parse(line, SamplingOf, Identity.Model) is not { } result)
                    {
                        Warn($"batch {job.BatchId}: line {number} of its {kind} file {fileId} is not valid JSON; its request goes in the next batch");
                        continue;
                    }
                    if (result.Answer is { } answer)
                    {
                        if (!answered.Add(result.CustomId)) continue;
                        failures.Remove(result.CustomId);
                        await HandOnAsync(job, result.CustomId, answer, cancellationToken);
                    }
                    else if (!answered.Contains(result.CustomId))
                    {
                        failures[result.CustomId] = result;
                    }
                }
            }
            catch (Exception e) when (e is ClientResultException or HttpRequestException or IOException)
            {
                Warn($"batch {job.BatchId}: its {kind} file {fileId} could not be downloaded ({ErrorText.FirstLine(e)}); trying again in {settings.PollInterval.TotalSeconds:F0} s");
                return;
            }
        }
        Settle(job, snapshot.State, failures);
        Report();
    }

    /// <summary>
    /// Hands one answer of a job to its caller (or keeps it for a caller still to come), once fewer than
    /// <see cref="BatchSettings.AnswersInFlight"/> answers are on their way into the ledger: memory holds that many answers, not an output file's.
    /// </summary>
    private async Task HandOnAsync(BatchJob job, string hash, Completion answer, CancellationToken cancellationToken)
    {
        await handing.WaitAsync(cancellationToken);
        Waiter? waiter = null;
        lock (gate)
        {
            if (heldBy.TryGetValue(hash, out var holder) && holder == job)
            {
                heldBy.Remove(hash);
                if (waiters.TryGetValue(hash, out waiter)) Finish(waiter, answer);
                else early[hash] = answer; // a resumed job's answer, before its request came
            }
        }
        if (waiter is null) handing.Release();
        else _ = ReleaseOnceRecordedAsync(waiter.Request.Trace);
    }

    /// <summary>Frees an answer's place in the window once the ledger wrapper has recorded it (or failed to: its caller learns of that).</summary>
    private async Task ReleaseOnceRecordedAsync(RequestTrace trace)
    {
        try
        {
            var receipt = await trace.LedgerGiven.WaitAsync(closing.Token);
            await receipt.Recorded.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        catch (OperationCanceledException)
        {
            // Closing: nothing more is collected.
        }
        finally
        {
            handing.Release();
        }
    }

    /// <summary>Settles each request of a collected job not handed an answer: failed for good, or gathered for the next batch.</summary>
    private void Settle(BatchJob job, string state, Dictionary<string, BatchResult> failures)
    {
        lock (gate)
        {
            live.Remove(job);
            job.State = $"{state}, collected";
            foreach (var hash in job.Hashes)
            {
                if (!heldBy.TryGetValue(hash, out var holder) || holder != job) continue;
                heldBy.Remove(hash);
                var result = failures.GetValueOrDefault(hash);
                if (!waiters.TryGetValue(hash, out var waiter)) continue; // not asked in this run: a later run sends it
                if (result is { Retry: false } || rounds.GetValueOrDefault(hash) >= settings.MaxRounds)
                {
                    var why = result?.Error ?? $"the batch ended {state} without an answer";
                    Finish(waiter, new TeacherException(result is { Retry: false } ? TeacherFailureKind.Rejected : TeacherFailureKind.Transient,
                        $"batch {job.BatchId}: {why}{(result is { Retry: false } ? "" : $" (after {rounds.GetValueOrDefault(hash)} batches)")}"));
                }
                else
                {
                    Gather(waiter);
                    lastArrival = clock.GetUtcNow() - settings.GatherWindow; // goes out at the next tick
                }
            }
        }
    }

    /// <summary>Fails every request of a job this run could not submit.</summary>
    private void Fail(BatchJob job, string message)
    {
        Warn(message);
        lock (gate)
        {
            live.Remove(job);
            job.State = "not submitted";
            foreach (var hash in job.Hashes)
            {
                heldBy.Remove(hash);
                if (waiters.TryGetValue(hash, out var waiter)) Finish(waiter, new TeacherException(TeacherFailureKind.Transient, message));
            }
        }
    }

    private void Finish(Waiter waiter, Completion answer)
    {
        waiters.Remove(waiter.Hash);
        waiter.Done.TrySetResult(answer);
    }

    private void Finish(Waiter waiter, TeacherException failure)
    {
        waiters.Remove(waiter.Hash);
        waiter.Done.TrySetException(failure);
    }

    private void Gather(Waiter waiter)
    {
        gathering.Add(waiter);
        lastArrival = clock.GetUtcNow();
    }

    private SamplingParameters SamplingOf(string hash)
    {
        lock (gate) return waiters.TryGetValue(hash, out var waiter) ? waiter.Request.Sampling : new SamplingParameters();
    }

    private void Warn(string warning)
    {
        lock (gate) warnings.Add(warning);
        Report(warning);
    }

    private void Report(string? warning = null)
    {
        if (progress is null) return;
        BatchProgress value;
        lock (gate) value = new BatchProgress([.. live.Select(j => j.Snapshot())], gathering.Count, warning);
        progress.Report(value);
    }

    /// <summary>A client job id: sortable by time, unique across machines.</summary>
    private string NewJobId() => $"dj-{clock.GetUtcNow():yyyyMMddHHmmss}-{Guid.NewGuid():N}"[..32];

    /// <summary>A request asked of this teacher and not yet answered.</summary>
    private sealed class Waiter(string hash, TeacherRequest request)
    {
        public string Hash { get; } = hash;
        public TeacherRequest Request { get; } = request;
        public string? Line { get; set; }
        public TaskCompletionSource<Completion> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
