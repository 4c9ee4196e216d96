using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Ledger;
using Distillery.Core.Policy;
using Distillery.Core.Specs;
using Distillery.Pipeline;
using Distillery.Teachers.Batch;
using Distillery.Teachers.Labeling;
using Distillery.Teachers.OpenAi;
using Spectre.Console;

namespace Distillery.Cli.Verbs;

/// <summary><c>distill generate</c>: asks a teacher to answer every prompt, streaming rows with token logprobs into a dataset folder, through the ledger.</summary>
public sealed class GenerateVerb(CliContext context) : IVerb
{
    private readonly Option<string> prompts = new("--prompts") { Description = "Prompts file: JSONL ({\"messages\":[...]} or {\"prompt\":...}) or .txt (one a line)", Required = true };
    private readonly Option<string> teacher = new("--teacher") { Description = "Teacher spec: openai:MODEL, llama2c:PATH, checkpoint:DIR or gguf:PATH", Required = true };
    private readonly Option<string> output = new("--out") { Description = "Dataset folder (data.jsonl, manifest.json, ledger.db); an existing one is resumed", Required = true };
    private readonly Option<int> topLogprobs = new("--top-logprobs") { Description = $"Alternatives returned with each token's logprob (0–{SamplingParameters.MaxTopLogprobs})", DefaultValueFactory = _ => 5 };
    private readonly Option<int> sampledLogprobs = new("--sampled-logprobs") { Description = $"Tokens drawn per position from a local teacher's distribution, with their logprobs, for random-sampling KD (0–{SamplingParameters.MaxSampledLogprobs}; no API supplies them)" };
    private readonly Option<int> samples = new("--samples") { Description = "Completions per prompt", DefaultValueFactory = _ => 1 };
    private readonly Option<double> temperature = new("--temperature") { Description = $"Sampling temperature (0 = greedy … {SamplingParameters.MaxTemperature})", DefaultValueFactory = _ => 1.0 };
    private readonly Option<double> topP = new("--top-p") { Description = "Nucleus sampling mass (above 0, at most 1)", DefaultValueFactory = _ => 1.0 };
    private readonly Option<int> maxTokens = new("--max-tokens") { Description = "Most tokens per completion", DefaultValueFactory = _ => 256 };
    private readonly Option<int?> seed = new("--seed") { Description = "Sampling seed, where the teacher honours one" };
    private readonly Option<string?> system = new("--system") { Description = "System message put first in prompts that have none" };
    private readonly Option<int> concurrency = new("--concurrency") { Description = "Requests in flight at once", DefaultValueFactory = _ => 4 };
    private readonly Option<string?> policy = new("--policy") { Description = "Terms policy file: allow / deny / allow-with-notice per provider or model" };
    private readonly Option<string?> endpoints = new("--endpoints") { Description = "A pool of endpoints serving the API teacher: a JSON file of base URLs, key variables, weights and limits (see the README)" };
    private readonly Option<double> claimLease = new("--claim-lease") { Description = "Seconds a process's claim on a request lasts without renewal; another process sharing the ledger takes over a dead one's after that", DefaultValueFactory = _ => LedgerLease.DefaultDuration.TotalSeconds };
    private readonly Option<bool> takeShare = new("--take-share") { Description = "With other processes on one --ledger: skip requests another live process holds or answered, so --out holds this process's share (distill merge makes the dataset); they are looked at once more at the end, to take over a dead process's" };
    private readonly Option<bool> batch = new("--batch") { Description = "Send the requests through the OpenAI Batch API (openai:MODEL): batch prices, answers within 24 hours; a rerun goes on with the batches already sent" };
    private readonly Option<double> batchPoll = new("--batch-poll") { Description = "Seconds between looks at each live batch (with --batch)", DefaultValueFactory = _ => 30 };
    private readonly ChatTemplateOptions chatTemplate = new("a local teacher's");
    private readonly ApiTeacherOptions api = new();
    private readonly PriceOptions prices = new();
    private readonly DeviceOption device = new();

    /// <inheritdoc />
    public Command Build()
    {
        var command = new Command("generate", "Ask a teacher to answer prompts; rows with token logprobs stream into a dataset folder, every request through the ledger so nothing is paid twice")
        {
            prompts, teacher, output, topLogprobs, sampledLogprobs, samples, temperature, topP, maxTokens, seed, system, concurrency,
            policy, endpoints, claimLease, takeShare, batch, batchPoll,
        };
        api.AddTo(command);
        prices.AddTo(command);
        chatTemplate.AddTo(command);
        device.AddTo(command);
        command.SetAction((parse, ct) => RunAsync(parse, ct));
        return command;
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var spec = ModelSpec.Parse(parse.GetValue(teacher)!, "--teacher");
        var sampling = new SamplingParameters
        {
            Temperature = parse.GetValue(temperature),
            TopP = parse.GetValue(topP),
            MaxTokens = parse.GetValue(maxTokens),
            TopLogprobs = parse.GetValue(topLogprobs),
            SampledLogprobs = parse.GetValue(sampledLogprobs),
            Seed = parse.GetValue(seed),
        };
        // The teacher's own limit is checked here, before any request, not by each request failing.
        var isApi = spec.Kind == ModelKind.OpenAi;
        sampling.Validate(SamplingFieldNaming.CommandLine, isApi ? OpenAiTeacher.MaxTopLogprobs : SamplingParameters.MaxTopLogprobs,
            isApi ? OpenAiTeacher.MaxSampledLogprobs : SamplingParameters.MaxSampledLogprobs);
        Check(parse.GetValue(samples), 1, 1000, "--samples");
        Check(parse.GetValue(concurrency), 1, 1024, "--concurrency");
        var settings = api.Settings(parse);
        Check(parse.GetValue(claimLease), 0.1, 86400, "--claim-lease");
        var poll = TimeSpan.FromSeconds(Check(parse.GetValue(batchPoll), 0.01, 86400, "--batch-poll"));
        var price = await prices.ResolveAsync(parse, spec, cancellationToken);
        var budgetUsd = prices.ResolveBudget(parse, price, isApi);
        var terms = parse.GetValue(policy) is { } policyPath ? await TermsPolicy.LoadAsync(policyPath, cancellationToken) : TermsPolicy.AllowAll;
        var options = new GenerateOptions
        {
            TeacherSpec = spec.ToString(),
            TeacherSettings = settings with
            {
                EndpointsFile = parse.GetValue(endpoints),
                ChatTemplate = await chatTemplate.ResolveAsync(parse, cancellationToken),
                Device = device.Parse(parse),
            },
            Labeling = new LabelingOptions
            {
                PromptsPath = parse.GetValue(prompts)!,
                OutputDirectory = parse.GetValue(output)!,
                LedgerPath = parse.GetValue(api.Ledger),
                ClaimLease = TimeSpan.FromSeconds(parse.GetValue(claimLease)),
                TakeShare = parse.GetValue(takeShare),
                Sampling = sampling,
                Samples = parse.GetValue(samples),
                SystemPrompt = parse.GetValue(system),
                Concurrency = parse.GetValue(concurrency),
                Price = price,
                BudgetUsd = budgetUsd,
                Policy = terms,
            },
        };

        var batchWatch = parse.GetValue(batch) ? new BatchWatch() : null;
        LabelingSummary summary = null!;
        await context.Console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask("rows", maxValue: 1);
                batchWatch?.Show(progress.AddTask("batches", maxValue: 1));
                var run = batchWatch is null ? options : options with { Batch = BatchSettings.Polling(poll), BatchProgress = batchWatch };
                summary = (await DistilleryPipeline.GenerateAsync(run, new ProgressReporter(task), cancellationToken)).Summary;
            });
        PrintSummary(summary);
        foreach (var warning in batchWatch?.Warnings ?? [])
            context.Console.MarkupLine($"[yellow]warning[/] {Markup.Escape(warning)}");
        if (summary.Failed > 0)
            throw new DistilleryException($"{summary.Failed} request(s) failed (first: {summary.Errors.FirstOrDefault()}); run the same command again to retry only those");
        if (summary.BudgetReached)
            throw new DistilleryException($"the budget of ${budgetUsd} was reached with {summary.NotSent} request(s) not sent; run again with a larger --budget-usd to go on");
        return ExitCodes.Ok;
    }

    private void PrintSummary(LabelingSummary s)
    {
        var table = new Table().AddColumn("generate").AddColumn(new TableColumn("").RightAligned());
        table.AddRow("rows", $"{s.RowsDone} of {s.RowsTotal}");
        table.AddRow("answered by the teacher", s.Answered.ToString(CultureInfo.InvariantCulture));
        table.AddRow("from the ledger", s.FromLedger.ToString(CultureInfo.InvariantCulture));
        table.AddRow("already in the dataset", s.AlreadyPresent.ToString(CultureInfo.InvariantCulture));
        if (s.LeftToOthers > 0) table.AddRow("left to other processes", s.LeftToOthers.ToString(CultureInfo.InvariantCulture));
        table.AddRow("failed", s.Failed == 0 ? "0" : $"[red]{s.Failed}[/]");
        table.AddRow("not sent", s.NotSent.ToString(CultureInfo.InvariantCulture));
        table.AddRow("retries", s.Retries.ToString(CultureInfo.InvariantCulture));
        table.AddRow("tokens (prompt / completion)", $"{s.PromptTokens:N0} / {s.CompletionTokens:N0}");
        table.AddRow("tokens/s", s.Elapsed.TotalSeconds > 0 ? $"{s.CompletionTokens / s.Elapsed.TotalSeconds:F1}" : "-");
        table.AddRow("cost", $"${s.CostUsd:F4}");
        table.AddRow("time", $"{s.Elapsed.TotalSeconds:F1} s");
        context.Console.Write(table);
        foreach (var d in s.PolicyDecisions.Where(d => d.Verdict == PolicyVerdict.AllowWithNotice))
            context.Console.MarkupLine($"[yellow]notice[/] ({Markup.Escape(d.Rule)}): {Markup.Escape(d.Explanation)}");
        foreach (var error in s.Errors)
            context.Console.MarkupLine($"[red]failed[/] {Markup.Escape(error)}");
    }

    private static double Check(double value, double min, double max, string option) => ApiTeacherOptions.Check(value, min, max, option);

    private sealed class ProgressReporter(ProgressTask task) : IProgress<PipelineProgress>
    {
        private readonly Lock gate = new();

        public void Report(PipelineProgress value)
        {
            lock (gate)
            {
                task.MaxValue = Math.Max(1, value.Total);
                task.Value = value.Completed;
                task.Description = Markup.Escape(value.Message);
            }
        }
    }

    /// <summary>Shows the batches' states and counts on a progress line and keeps their warnings for after the run.</summary>
    private sealed class BatchWatch : IProgress<BatchProgress>
    {
        private readonly Lock gate = new();
        private readonly List<string> warnings = [];
        private ProgressTask? task;

        public IReadOnlyList<string> Warnings
        {
            get { lock (gate) return [.. warnings]; }
        }

        public void Show(ProgressTask line)
        {
            lock (gate) task = line;
        }

        public void Report(BatchProgress value)
        {
            lock (gate)
            {
                if (value.Warning is { } warning) warnings.Add(warning);
                if (task is null) return;
                var states = string.Join(", ", value.Jobs.GroupBy(j => j.State).Select(g => $"{g.Count()} {g.Key}"));
                task.MaxValue = Math.Max(1, value.Jobs.Sum(j => j.Total));
                task.Value = value.Jobs.Sum(j => j.Completed);
                task.Description = Markup.Escape($"batches: {(states.Length == 0 ? "none live" : states)}; {value.Jobs.Sum(j => j.Failed)} failed; {value.Gathering} gathering");
            }
        }
    }
}
