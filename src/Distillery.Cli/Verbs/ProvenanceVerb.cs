using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Ledger;
using Distillery.Core.Pricing;
using Distillery.Core.Prompts;
using Distillery.Core.Provenance;
using Distillery.Core.Specs;
using Distillery.Models.Decoding;
using Distillery.Models.Tokenizers;
using Distillery.Teachers;
using Distillery.Teachers.Ledger;
using Distillery.Teachers.Provenance;
using Spectre.Console;

namespace Distillery.Cli.Verbs;

/// <summary><c>distill provenance</c>: did a suspect model learn from a watermarked teacher (radioactivity test), or derive from a parent rather than references (agreement test)?</summary>
public sealed class ProvenanceVerb(CliContext context) : IVerb
{
    private readonly Option<string> suspect = new("--suspect") { Description = "The model under test: llama2c:PATH, checkpoint:DIR, gguf:PATH or openai:MODEL", Required = true };
    private readonly Option<string?> parent = new("--parent") { Description = "Candidate parent for the black-box agreement test" };
    private readonly Option<string[]> references = new("--reference") { Description = "Reference model for the agreement test; repeatable", AllowMultipleArgumentsPerToken = false };
    private readonly Option<string> prompts = new("--prompts") { Description = "Prompts file: JSONL or .txt (one a line)", Required = true };
    private readonly Option<int> maxTokens = new("--max-tokens") { Description = "Tokens generated per prompt", DefaultValueFactory = _ => 64 };
    private readonly Option<string?> json = new("--json") { Description = "Write the result here too (put it in the suspect's model folder to see it in distill audit)" };
    private readonly Option<string?> tokenizer = new("--tokenizer") { Description = "The watermarked teacher's tokenizer, to score a suspect whose answers carry no token ids (openai:)" };
    private readonly Option<int> seed = new("--seed") { Description = "Sampling seed of the suspect's answers (prompt i uses seed + i)", DefaultValueFactory = _ => 0 };
    private readonly Option<int> minRepeats = new("--min-repeats")
    {
        Description = "Radioactivity test: score only (context, token) pairs the suspect wrote at least this often (1: every distinct pair). "
            + "A student's most practised pairs carry its teacher's bias most (bench/results/provenance.md)",
        DefaultValueFactory = _ => RadioactivityTest.DefaultMinRepeats,
    };
    private readonly Option<string> score = new("--score")
    {
        Description = "Radioactivity test: score the suspect's sampled tokens (exact binomial) or its top-20 logprobs (the green mass after each distinct "
            + "context; far fewer queries, bench/results/provenance.md)",
        DefaultValueFactory = _ => "tokens",
    };
    private readonly Option<string> weighting = new("--weighting")
    {
        Description = "With --score logprobs: how the contexts' terms are combined: context (each over its own standard deviation, so each counts alike), "
            + "inverse-variance (the contexts where the suspect is closest to the teacher count most) or mass (as they are); every choice keeps p valid (bench/results/provenance.md)",
        DefaultValueFactory = _ => GreenMassTest.OptionName(GreenMassTest.DefaultWeighting),
    };
    private readonly Option<string?> teacherModel = new("--teacher-model") { Description = "With --score logprobs: the watermarked teacher's own model (local spec), whose probabilities are subtracted from the suspect's" };
    private readonly Option<double> alpha = new("--alpha") { Description = "Significance level of the verdict", DefaultValueFactory = _ => 1e-3 };
    private readonly DeviceOption device = new();
    private readonly Option<string?> ledger = new("--ledger") { Description = "Ledger file every query goes through (default: provenance-ledger.db beside --json, else in the current folder)" };
    private readonly Option<string?> baseUrl = new("--base-url") { Description = "API base URL for openai: models (default: OPENAI_BASE_URL, then https://api.openai.com/v1)" };
    private readonly Option<string> apiKeyEnv = new("--api-key-env") { Description = "Environment variable holding the API key", DefaultValueFactory = _ => "OPENAI_API_KEY" };
    private readonly WatermarkOptions watermark = new("Run the radioactivity test under the watermark key held in this environment variable", withDelta: false);

    /// <inheritdoc />
    public Command Build()
    {
        var command = new Command("provenance", "Test from the outside whether a suspect learned from a watermarked teacher (--watermark-key-env) or derives from a parent rather than references (--parent, --reference)")
        {
            suspect, parent, references, prompts, maxTokens, minRepeats, score, weighting, teacherModel, json, tokenizer, seed, alpha, ledger, baseUrl, apiKeyEnv,
        };
        watermark.AddTo(command);
        device.AddTo(command);
        command.SetAction((parse, ct) => RunAsync(parse, ct));
        return command;
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        // Every check before the first query.
        var suspectSpec = ModelSpec.Parse(parse.GetValue(suspect)!, "--suspect");
        var parentText = parse.GetValue(parent);
        var referenceTexts = parse.GetValue(references) ?? [];
        var key = watermark.Resolve(parse);
        if (key is null == (parentText is null)) throw InputException.InField("--watermark-key-env", "give either --watermark-key-env (radioactivity test) or --parent with --reference (agreement test)");
        if (parentText is not null && referenceTexts.Length == 0) throw InputException.InField("--reference", "the agreement test needs at least one reference model besides --parent");
        var specs = new[] { suspectSpec }.Concat(parentText is null ? [] : referenceTexts.Prepend(parentText).Select(s => ModelSpec.Parse(s, parentText == s ? "--parent" : "--reference"))).ToList();
        var tokens = parse.GetValue(maxTokens);
        if (tokens is < 1 or > 4096) throw InputException.InField("--max-tokens", "must be between 1 and 4096");
        var repeats = parse.GetValue(minRepeats);
        if (repeats is < 1 or > 1000) throw InputException.InField("--min-repeats", "must be between 1 and 1000");
        var scoring = parse.GetValue(score);
        if (scoring is not ("tokens" or "logprobs")) throw InputException.InField("--score", $"must be tokens or logprobs, not '{scoring}'");
        var logprobs = scoring == "logprobs";
        var weightingText = parse.GetValue(weighting)!;
        var combine = Enum.GetValues<GreenMassWeighting>().Where(w => GreenMassTest.OptionName(w) == weightingText).Cast<GreenMassWeighting?>().FirstOrDefault()
            ?? throw InputException.InField("--weighting", $"must be context, inverse-variance or mass, not '{weightingText}'");
        if (parse.GetResult(weighting) is { Implicit: false } && !logprobs) throw InputException.InField("--weighting", "combines the logprob test's contexts; add --score logprobs");
        var teacherText = parse.GetValue(teacherModel);
        if ((logprobs || teacherText is not null) && key is null) throw InputException.InField(logprobs ? "--score" : "--teacher-model", "belongs to the radioactivity test; give --watermark-key-env");
        if (teacherText is not null && !logprobs) throw InputException.InField("--teacher-model", "is subtracted from the suspect's logprobs; add --score logprobs");
        var teacherSpec = teacherText is null ? null : ModelSpec.Parse(teacherText, "--teacher-model");
        if (teacherSpec is { IsLocal: false }) throw InputException.InField("--teacher-model", "must be a local model (llama2c:, checkpoint:, gguf:): the test needs its whole distribution");
        var level = parse.GetValue(alpha);
        if (!(level > 0 && level < 1)) throw InputException.InField("--alpha", "must lie strictly between 0 and 1");
        ITextTokenizer? scoringTokenizer = parse.GetValue(tokenizer) is { } tokenizerPath ? await TokenizerLoader.LoadAsync(tokenizerPath, cancellationToken) : null;
        if (key is not null && !suspectSpec.IsLocal && scoringTokenizer is null && teacherSpec is null)
            throw InputException.InField("--tokenizer", "is needed to score an openai: suspect's text; give the watermarked teacher's tokenizer");
        var promptSet = await PromptFile.ReadAsync(parse.GetValue(prompts)!, cancellationToken);
        var jsonPath = parse.GetValue(json);
        var ledgerPath = parse.GetValue(ledger) ?? Path.Combine(jsonPath is null ? "." : Path.GetDirectoryName(Path.GetFullPath(jsonPath))!, "provenance-ledger.db");
        var settings = new TeacherSettings { BaseUrl = parse.GetValue(baseUrl), ApiKeyVariable = parse.GetValue(apiKeyEnv)!, Device = device.Parse(parse) };
        // Watermark detection reads the suspect's ordinary samples; the agreement test compares greedy continuations.
        var sampling = key is null
            ? new SamplingParameters { Temperature = 0, MaxTokens = tokens, TopLogprobs = 0 }
            : new SamplingParameters { Temperature = 1, MaxTokens = tokens, TopLogprobs = logprobs ? 20 : 0, Seed = parse.GetValue(seed) };
        using var unmarked = teacherSpec is null ? null : await UnmarkedTeacher.LoadAsync(teacherSpec.ToString(), scoringTokenizer?.VocabSize, settings.Device, cancellationToken);
        scoringTokenizer ??= unmarked?.Tokenizer;

        var answers = await QueryAllAsync(specs, promptSet, sampling, settings, ledgerPath, cancellationToken);
        var now = TimeProvider.System.GetUtcNow();
        var report = key is not null
            ? logprobs
                ? GreenMassTest.Evaluate(suspectSpec.ToString(), key, promptSet, answers[0], scoringTokenizer, unmarked, level, now, combine)
                : RadioactivityTest.Evaluate(suspectSpec.ToString(), key, answers[0], scoringTokenizer, level, now, repeats)
            : AgreementTest.Evaluate(suspectSpec.ToString(), specs[1].ToString(), [.. specs.Skip(2).Select(s => s.ToString())], answers[0], answers[1], [.. answers.Skip(2)], level, now);
        Print(report);
        if (jsonPath is not null) await report.WriteAsync(jsonPath, cancellationToken);
        return ExitCodes.Ok;
    }

    /// <summary>Every model answers every prompt, one model after the other, each through the ledger.</summary>
    private async Task<List<IReadOnlyList<Completion>>> QueryAllAsync(List<ModelSpec> specs, PromptSet promptSet, SamplingParameters sampling, TeacherSettings settings, string ledgerPath, CancellationToken cancellationToken)
    {
        var answers = new List<IReadOnlyList<Completion>>();
        await using var book = await TeacherLedger.OpenAsync(ledgerPath, cancellationToken);
        await context.Console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                foreach (var spec in specs)
                {
                    var name = Markup.Escape(spec.ToString());
                    var task = progress.AddTask(name, maxValue: promptSet.Prompts.Count);
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    var inner = await TeacherFactory.CreateAsync(spec.ToString(), settings, cancellationToken);
                    await using var model = await LedgerTeacher.OpenAsync(inner, book, ModelPrice.Free, cancellationToken: cancellationToken);
                    answers.Add(await PromptRunner.RunAsync(model, promptSet, sampling, new Progress<int>(done =>
                    {
                        task.Value = done;
                        task.Description = string.Create(CultureInfo.InvariantCulture, $"{name} · {done / Math.Max(1e-9, clock.Elapsed.TotalSeconds):F1} prompts/s");
                    }), cancellationToken));
                    task.Value = promptSet.Prompts.Count;
                    (inner as IDisposable)?.Dispose();
                }
            });
        return answers;
    }

    private void Print(ProvenanceReport report)
    {
        var table = new Table().Title(Markup.Escape($"provenance ({report.Test} test) of {report.Suspect}")).AddColumn("").AddColumn("");
        table.AddRow("verdict", Markup.Escape(report.Verdict));
        table.AddRow(Markup.Escape(report.StatisticName), report.Statistic.ToString("G4", CultureInfo.InvariantCulture));
        table.AddRow("p (one-sided)", FormatP(report.P, report.Log10P));
        table.AddRow("queries", report.Queries.ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("tokens generated", report.Tokens.ToString("N0", CultureInfo.InvariantCulture));
        foreach (var (name, value) in report.Figures) table.AddRow(Markup.Escape(name.Replace('_', ' ')), value.ToString("G4", CultureInfo.InvariantCulture));
        table.AddRow("what it can and cannot show", Markup.Escape(report.Scope));
        context.Console.Write(table);
    }

    /// <summary>p as a number, or as a power of ten where it is too small for a double.</summary>
    public static string FormatP(double p, double log10P) =>
        p > 0 ? p.ToString("G3", CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"10^{log10P:F1}");
}
