using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Ledger;
using Distillery.Core.Policy;
using Distillery.Core.Pricing;
using Distillery.Core.Prompts;
using Distillery.Teachers.Ledger;

namespace Distillery.Teachers.Labeling;

/// <summary>Runs <c>distill generate</c>: reads and checks the prompts, asks the teacher for each (prompt, sample) the dataset lacks through the <see cref="LedgerTeacher"/>, which answers from the ledger what was paid for before, and streams rows into the dataset folder.</summary>
/// <remarks>Every request is recorded in the ledger before it is sent and again when it completes, and a row is written only once its answer is in the ledger. A killed run loses at most the requests in flight; the next run repairs a torn last line and goes on.</remarks>
public sealed class LabelingRunner
{
    private const int MaxErrorsKept = 5;
    private readonly ITeacher teacher;
    private readonly LabelingOptions options;
    private readonly TimeProvider clock;

    /// <summary>Creates the run for a teacher (already wrapped for retries and rate limits) and options.</summary>
    public LabelingRunner(ITeacher teacher, LabelingOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Samples < 1) throw InputException.InField("--samples", "must be at least 1");
        if (options.Concurrency < 1) throw InputException.InField("--concurrency", "must be at least 1");
        options.Sampling.Validate(SamplingFieldNaming.CommandLine);
        this.teacher = teacher;
        this.options = options;
        clock = time ?? TimeProvider.System;
    }

    /// <summary>Runs to the end (or to cancellation, which leaves resumable state) and returns the summary. Bad prompts and a denied teacher throw before anything is sent.</summary>
    public async Task<LabelingSummary> RunAsync(IProgress<LabelingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var stopwatch = Stopwatch.StartNew();
        var prompts = await PromptFile.ReadAsync(options.PromptsPath, cancellationToken);
        var decisions = CheckPolicy();
        // The ledger first: an unreachable database is bad input, reported before any folder is made.
        await using var ledger = await TeacherLedger.OpenAsync(options.LedgerLocation, cancellationToken);
        await using var writer = await DatasetWriter.OpenAsync(options.OutputDirectory, cancellationToken);
        var plan = await PlanAsync(prompts, cancellationToken);
        await using var ledgerTeacher = await LedgerTeacher.OpenAsync(teacher, ledger, options.Price, clock, LedgerLease.ForThisProcess(options.ClaimLease, options.FollowsBatches), cancellationToken);

        var state = new RunState { RowsTotal = plan.Items.Count, Tally = plan.Tally, Lines = plan.Lines };
        state.AlreadyPresent = plan.Items.Count - plan.Todo.Count;
        state.RowsDone = state.AlreadyPresent;
        var retriesAtStart = options.Statistics?.Retries ?? 0;
        void Report() => progress?.Report(new LabelingProgress(Volatile.Read(ref state.RowsDone), state.RowsTotal, Interlocked.Read(ref state.CompletionTokens),
            state.Cost, Volatile.Read(ref state.Failed), (options.Statistics?.Retries ?? 0) - retriesAtStart, stopwatch.Elapsed));
        Report();
        var work = new Work(ledgerTeacher, writer, new Budget(options.BudgetUsd), decisions, state, Report)
        {
            Shares = options.ShareId is { } share ? new ShareBook(ledger, share, await ledger.OtherSharesAsync(share, cancellationToken)) : null,
        };

        var cancelled = await SendAsync(plan.Todo, work, cancellationToken);
        return await FinishAsync(prompts, work, cancelled, retriesAtStart, stopwatch.Elapsed, cancellationToken);
    }

    /// <summary>The policy's decision on the teacher; a denied teacher is an input error before anything is read or sent.</summary>
    private ConcurrentDictionary<string, PolicyDecision> CheckPolicy()
    {
        var identity = teacher.Identity;
        var decision = options.Policy.Evaluate(identity.Provider, identity.Model);
        if (decision.Verdict == PolicyVerdict.Deny)
            throw InputException.InField("--teacher", $"{identity} is denied by {decision.Rule}{Suffix(decision.Explanation)}; Distillery will not generate data from it");
        return new ConcurrentDictionary<string, PolicyDecision>(StringComparer.Ordinal) { [identity.Model] = decision };
    }

    /// <summary>Plans the run: every (prompt, sample) with its request hash, and those the dataset folder does not hold yet.</summary>
    private async Task<Plan> PlanAsync(PromptSet prompts, CancellationToken cancellationToken)
    {
        var order = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < prompts.Prompts.Count; i++) order.TryAdd(prompts.Prompts[i].Id, i);
        var present = new HashSet<string>(StringComparer.Ordinal);
        var tally = new ContributionTally();
        var lines = new LineOrder();
        await foreach (var row in DatasetReader.ReadRowsAsync(options.OutputDirectory, cancellationToken))
        {
            tally.Add(row);
            var p = row.Distillery;
            if (p is not null) present.Add(RowKey(p.PromptId, p.Sample, p.RequestHash));
            // Rows of prompts not in this file (an earlier run's) keep their place after this file's.
            lines.AddExisting(p is not null && order.TryGetValue(p.PromptId, out var index) ? index : int.MaxValue, p?.Sample ?? 0);
        }

        // Hashing every request (~9 µs each) is the run's start-up cost: spread over the cores.
        var identity = teacher.Identity;
        var items = new WorkItem[prompts.Prompts.Count * options.Samples];
        Parallel.For(0, prompts.Prompts.Count, new ParallelOptions { CancellationToken = cancellationToken }, p =>
        {
            var prompt = prompts.Prompts[p];
            var messages = WithSystem(prompt.Messages, options.SystemPrompt);
            for (var sample = 0; sample < options.Samples; sample++)
            {
                var sampling = options.Sampling.ForSample(sample);
                items[p * options.Samples + sample] = new WorkItem(prompt, order[prompt.Id], sample, messages, sampling, LedgerKey.For(identity, messages, sampling, sample));
            }
        });
        return new Plan(items, [.. items.Where(i => !present.Contains(RowKey(i.Prompt.Id, i.Sample, i.Key.Hash)))], tally, lines);
    }

    /// <summary>Asks the ledger wrapper for what the plan left to do through --concurrency slots while one loop writes the answered rows; true when cancelled.</summary>
    private async Task<bool> SendAsync(IReadOnlyList<WorkItem> todo, Work work, CancellationToken cancellationToken)
    {
        // Identical requests (the same prompt twice) are sent once and answer every row that asked.
        var queue = new ConcurrentQueue<List<WorkItem>>(todo.GroupBy(i => i.Key.Hash, StringComparer.Ordinal).Select(g => g.ToList()));
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // One loop writes answered rows (once the ledger wrapper has recorded their answers) while the slots send: the
        // teacher's next request never waits for the last row to be written, and a burst of answers does not take every core
        // from the requests going out.
        var recorder = Task.Run(async () =>
        {
            try
            {
                await RecordAnswersAsync(work);
            }
            catch
            {
                failed.Cancel(); // a ledger or disk error stops the slots: nothing more is sent that could not be recorded
                throw;
            }
        }, CancellationToken.None);
        // One loop per slot: each sends its next request as soon as an answer is back and hands the answer to the
        // recorder, so the teacher always has --concurrency requests in flight.
        // No more slots than requests: a batch teacher takes every request at once (--concurrency unbounded).
        var slots = Enumerable.Range(0, Math.Max(1, Math.Min(options.Concurrency, queue.Count))).Select(_ => Task.Run(async () =>
        {
            try
            {
                await SlotAsync(queue, work, failed.Token);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failed.Cancel(); // one slot's failure (a ledger or disk error) stops the others
                throw;
            }
        }, CancellationToken.None)).ToArray();
        try
        {
            await Task.WhenAll(slots);
            return false;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return true;
        }
        finally
        {
            // Answers already paid for are recorded whatever happened to the slots.
            work.Answers.Writer.Complete();
            await recorder;
        }
    }

    /// <summary>Puts the rows in prompt order (unless cancelled), writes the manifest and returns the summary; a policy stop throws after the manifest is written.</summary>
    private async Task<LabelingSummary> FinishAsync(PromptSet prompts, Work work, bool cancelled, int retriesAtStart, TimeSpan elapsed, CancellationToken cancellationToken)
    {
        var state = work.State;
        if (!cancelled) await PutInPromptOrderAsync(work.Writer, state.Lines);
        var summary = new LabelingSummary
        {
            RowsTotal = state.RowsTotal,
            RowsDone = state.RowsDone,
            Answered = state.Answered,
            FromLedger = state.FromLedger,
            AlreadyPresent = state.AlreadyPresent,
            LeftToOthers = state.LeftToOthers,
            Failed = state.Failed,
            NotSent = state.NotSent,
            Retries = (options.Statistics?.Retries ?? 0) - retriesAtStart,
            CompletionTokens = state.CompletionTokens,
            PromptTokens = state.PromptTokens,
            CostUsd = state.Cost,
            Elapsed = elapsed,
            BudgetReached = state.BudgetReached,
            PolicyDecisions = [.. work.Decisions.Values.Distinct()],
            Errors = [.. state.Errors.Take(MaxErrorsKept)],
        };
        await work.Writer.WriteManifestAsync(BuildManifest(prompts, state.Tally, summary, work.Decisions), CancellationToken.None);
        cancellationToken.ThrowIfCancellationRequested();
        if (state.PolicyStop is { } stop) throw new DistilleryException(stop);
        return summary;
    }

    /// <summary>
    /// Works the queue, skipping requests another live process holds; then comes back for those once: waiting for each to be answered
    /// or its claim to run out, or in share mode taking over only those whose claims ran out and leaving the rest to their processes.
    /// </summary>
    private async Task SlotAsync(ConcurrentQueue<List<WorkItem>> queue, Work work, CancellationToken token)
    {
        var comingBack = options.TakeShare ? WhenHeld.LeaveToOthers : WhenHeld.Wait;
        foreach (var (source, whenHeld) in new[] { (queue, WhenHeld.Defer), (work.Deferred, comingBack) })
        {
            while (source.TryDequeue(out var group))
            {
                token.ThrowIfCancellationRequested();
                if (await AskTeacherAsync(group, work, whenHeld, token) is { } answered) work.Answers.Writer.TryWrite((group, answered));
                else work.Report();
            }
        }
    }

    /// <summary>What a slot does with a request another live process holds.</summary>
    private enum WhenHeld
    {
        /// <summary>Puts it aside, to come back for it once the queue is empty.</summary>
        Defer,

        /// <summary>Waits until that process records its answer or its claim runs out.</summary>
        Wait,

        /// <summary>Leaves it to that process (share mode): its row is in that process's folder.</summary>
        LeaveToOthers,
    }

    /// <summary>
    /// Asks the ledger wrapper for the group's answer: one the ledger holds is written to the dataset here; one that must be
    /// sent passes the policy's stop and the budget first, and its reported model is checked against the policy; one another
    /// live process holds is handled as <paramref name="whenHeld"/> says. In share mode, one another process answered during this
    /// run is left to it. Null when nothing is left for the recorder.
    /// </summary>
    private async Task<Answered?> AskTeacherAsync(List<WorkItem> group, Work work, WhenHeld whenHeld, CancellationToken token)
    {
        var (first, state) = (group[0], work.State);
        var request = new TeacherRequest(first.Messages, first.Sampling) { Key = first.Key };
        var reserved = 0m;
        var inLedger = work.Teacher.Holds(request);
        // Answered in the ledger when this run started, and no other process's share: found answered, so its row is this folder's.
        var foundAnswered = inLedger && work.Shares?.IsOthers(first.Key.Hash) != true;
        // Answers the ledger holds cost nothing: only requests that go out meet the policy's stop and the budget.
        if (!inLedger)
        {
            if (state.PolicyStop is not null)
            {
                Interlocked.Add(ref state.NotSent, 1);
                return null;
            }
            reserved = options.Price.Cost(request.EstimatedPromptTokens(), options.Sampling.MaxTokens);
            if (!work.Budget.TryReserve(reserved))
            {
                state.BudgetReached = true;
                Interlocked.Add(ref state.NotSent, 1);
                return null;
            }
        }
        Completion? answer;
        try
        {
            answer = whenHeld == WhenHeld.Wait ? await work.Teacher.CompleteAsync(request, token) : await work.Teacher.TryCompleteAsync(request, token);
        }
        catch (TeacherException e)
        {
            work.Budget.Settle(reserved, 0);
            Interlocked.Increment(ref state.Failed);
            state.Errors.Enqueue($"prompt {first.Prompt.Id} (line {first.Prompt.Line}): {e.Message}");
            return null;
        }
        catch (OperationCanceledException)
        {
            work.Budget.Settle(reserved, 0);
            throw;
        }
        if (answer is null)
        {
            work.Budget.Settle(reserved, 0);
            if (whenHeld == WhenHeld.Defer) work.Deferred.Enqueue(group); // another live process holds it: this slot comes back for it at the end
            else Interlocked.Add(ref state.LeftToOthers, group.Count);
            return null;
        }
        var receipt = request.Trace.Ledger!;
        work.Budget.Settle(reserved, receipt.FromLedger ? 0 : receipt.CostUsd);
        if (receipt.FromLedger && work.Shares is not null && !foundAnswered)
        {
            Interlocked.Add(ref state.LeftToOthers, group.Count); // another process answered it during this run: the row is in its folder
            return null;
        }
        if (receipt.FromLedger)
        {
            if (work.Shares is { } found) await found.TakeAsync(first.Key.Hash);
            await WriteRowsAsync(work.Writer, state, group, answer, receipt.CostUsd, receipt.Completed);
            Interlocked.Add(ref state.FromLedger, group.Count);
            Interlocked.Add(ref state.RowsDone, group.Count);
            return null;
        }
        // Decided before this slot sends again, so a model the policy denies stops the next request.
        var reported = work.Decisions.GetOrAdd(answer.Model, m => options.Policy.Evaluate(teacher.Identity.Provider, m));
        if (reported.Verdict == PolicyVerdict.Deny)
            state.PolicyStop ??= $"the server reported model {teacher.Identity.Provider}:{answer.Model}, denied by {reported.Rule}{Suffix(reported.Explanation)}; its answers are kept in the ledger but not in the dataset";
        return new Answered(answer, receipt, reported);
    }

    /// <summary>Writes the rows of answers as the slots hand them over, each once the ledger holds its answer.</summary>
    private async Task RecordAnswersAsync(Work work)
    {
        var reader = work.Answers.Reader;
        var batch = new List<Task>();
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            while (reader.TryRead(out var answer)) batch.Add(RecordAnswerAsync(answer.Group, answer.Answered, work));
            await Task.WhenAll(batch);
            batch.Clear();
            work.Report();
        }
    }

    private async Task RecordAnswerAsync(List<WorkItem> group, Answered answered, Work work)
    {
        var (state, (answer, receipt, reported)) = (work.State, answered);
        await receipt.Recorded;
        Interlocked.Increment(ref state.Answered);
        Interlocked.Add(ref state.CompletionTokens, answer.Usage.CompletionTokens);
        Interlocked.Add(ref state.PromptTokens, answer.Usage.PromptTokens);
        state.AddCost(receipt.CostUsd);
        if (reported.Verdict == PolicyVerdict.Deny) return;
        if (work.Shares is { } shares) await shares.TakeAsync(group[0].Key.Hash);
        await WriteRowsAsync(work.Writer, state, group, answer, receipt.CostUsd, receipt.Completed);
        Interlocked.Add(ref state.RowsDone, group.Count);
    }

    private async Task WriteRowsAsync(DatasetWriter writer, RunState state, List<WorkItem> group, Completion completion, decimal cost, DateTimeOffset timestamp)
    {
        foreach (var item in group)
        {
            var row = new DatasetRow([.. item.Messages, ChatMessage.Assistant(completion.Text)], new RowProvenance
            {
                PromptId = item.Prompt.Id,
                Sample = item.Sample,
                Meta = item.Prompt.Meta,
                Teacher = new RowTeacher
                {
                    Provider = teacher.Identity.Provider,
                    Model = completion.Model,
                    RequestedModel = teacher.Identity.Model,
                    Endpoint = teacher.Identity.Endpoint,
                    AnsweredBy = completion.AnsweredBy,
                    Sampling = item.Sampling,
                },
                FinishReason = completion.FinishReason,
                Tokens = completion.Tokens,
                Usage = completion.Usage,
                CostUsd = cost,
                RequestHash = item.Key.Hash,
                Timestamp = timestamp,
            });
            // Rows are flushed as they complete; cancellation must not tear a paid row.
            var position = await writer.AppendAsync(row, CancellationToken.None);
            state.Lines.AddAppended(position, item.PromptIndex, item.Sample);
            state.Tally.Add(row);
        }
    }

    private static async Task PutInPromptOrderAsync(DatasetWriter writer, LineOrder order)
    {
        // The keys kept while reading and appending describe every line, so no line is parsed again; a file someone else
        // also wrote to (a line count that does not match) is left as it is.
        if (order.Sorted() is { } sorted) await writer.ReorderLinesAsync(sorted);
    }

    private DatasetManifest BuildManifest(PromptSet prompts, ContributionTally tally, LabelingSummary summary, ConcurrentDictionary<string, PolicyDecision> decisions)
    {
        var teachers = tally.Result();
        return new DatasetManifest
        {
            Updated = clock.GetUtcNow(),
            Prompts = new ManifestPrompts(prompts.Path, prompts.Sha256, prompts.Prompts.Count),
            Samples = options.Samples,
            Teachers = teachers,
            Counts = new ManifestCounts
            {
                Rows = tally.Rows,
                Answered = summary.Answered,
                FromLedger = summary.FromLedger,
                AlreadyPresent = summary.AlreadyPresent,
                Failed = summary.Failed,
                NotSent = summary.NotSent,
                Retries = summary.Retries,
            },
            Tokens = new TokenUsage(teachers.Sum(t => t.Tokens.PromptTokens), teachers.Sum(t => t.Tokens.CompletionTokens)),
            CostUsd = teachers.Sum(t => t.CostUsd),
            Policy = [.. decisions.OrderBy(d => d.Key == teacher.Identity.Model ? 0 : 1).ThenBy(d => d.Key, StringComparer.Ordinal)
                .Select(d => new PolicyRecord($"{teacher.Identity.Provider}:{d.Key}", d.Value.VerdictText, d.Value.Rule, d.Value.Explanation.Length == 0 ? null : d.Value.Explanation))],
        };
    }

    private static IReadOnlyList<ChatMessage> WithSystem(IReadOnlyList<ChatMessage> messages, string? system) =>
        system is null || messages.Any(m => m.Role is "system" or "developer") ? messages : [ChatMessage.System(system), .. messages];

    private static string RowKey(string promptId, int sample, string hash) => $"{promptId}\n{sample}\n{hash}";

    private static string Suffix(string explanation) => explanation.Length == 0 ? "" : $" ({explanation})";

    /// <summary>Every (prompt, sample) of the run, those still to do, and what the dataset folder held at the start.</summary>
    private sealed record Plan(IReadOnlyList<WorkItem> Items, IReadOnlyList<WorkItem> Todo, ContributionTally Tally, LineOrder Lines);

    private sealed record WorkItem(Prompt Prompt, int PromptIndex, int Sample, IReadOnlyList<ChatMessage> Messages, SamplingParameters Sampling, LedgerKey Key);

    /// <summary>A teacher's answer on its way to the dataset, with the ledger's receipt for it.</summary>
    private sealed record Answered(Completion Answer, LedgerReceipt Receipt, PolicyDecision Reported);

    /// <summary>What every slot of a run shares.</summary>
    private sealed record Work(LedgerTeacher Teacher, DatasetWriter Writer, Budget Budget, ConcurrentDictionary<string, PolicyDecision> Decisions,
        RunState State, Action Report)
    {
        /// <summary>In share mode, this folder's share of the ledger's answers; null otherwise.</summary>
        public ShareBook? Shares { get; init; }

        /// <summary>Requests another live process held when a slot reached them, for the slots to come back to once the queue is empty.</summary>
        public ConcurrentQueue<List<WorkItem>> Deferred { get; } = new();

        /// <summary>Answers on their way from the slots to the recorder.</summary>
        public Channel<(List<WorkItem> Group, Answered Answered)> Answers { get; } =
            Channel.CreateUnbounded<(List<WorkItem>, Answered)>(new UnboundedChannelOptions { SingleReader = true });
    }

    private sealed class RunState
    {
        private readonly object costGate = new();
        private decimal cost;
        public int RowsTotal;
        public int RowsDone;
        public int Answered;
        public int FromLedger;
        public int AlreadyPresent;
        public int LeftToOthers;
        public int Failed;
        public int NotSent;
        public long CompletionTokens;
        public long PromptTokens;
        public volatile bool BudgetReached;
        public volatile string? PolicyStop;
        public readonly ConcurrentQueue<string> Errors = new();
        public ContributionTally Tally = new();
        public LineOrder Lines = new();

        public decimal Cost
        {
            get { lock (costGate) return cost; }
        }

        public void AddCost(decimal amount)
        {
            lock (costGate) cost += amount;
        }
    }
}
