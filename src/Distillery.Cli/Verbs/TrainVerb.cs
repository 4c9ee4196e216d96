using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Core.Pricing;
using Distillery.Core.Specs;
using Distillery.Models.Lora;
using Distillery.Models.Tokenizers;
using Distillery.Pipeline;
using Distillery.Training.CrossTokenizer;
using Distillery.Training.Language;
using Distillery.Training.Language.Configuration;
using Distillery.Training.Language.Objectives;
using Distillery.Training.Losses;
using Spectre.Console;

namespace Distillery.Cli.Verbs;

/// <summary><c>distill train</c>: distil a dataset folder (and optionally a local teacher) into a student model folder, in one of four modes.</summary>
public sealed class TrainVerb(CliContext context) : IVerb
{
    /// <inheritdoc />
    public Command Build()
    {
        var data = new Option<string?>("--data") { Description = "Dataset folder (data.jsonl + manifest.json)" };
        var outDir = new Option<string?>("--out") { Description = "Output folder: checkpoints, metrics, and the student model folder" };
        var mode = new Option<string?>("--mode") { Description = "sft | topk | whitebox | onpolicy (default sft)" };
        var student = new Option<string?>("--student") { Description = "Start from an existing model (llama2c:PATH, checkpoint:DIR, gguf:PATH)" };
        var studentConfig = new Option<string?>("--student-config") { Description = "New student from a LlamaConfig JSON file (vocab_size defaults to the tokenizer's)" };
        var preset = new Option<string?>("--student-preset") { Description = $"New student of a named size: {string.Join(", ", StudentPresets.Names)} (default tiny)" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "New student's tokenizer (file, folder, tiktoken:NAME); default: the teacher's" };
        var template = new Option<string?>("--chat-template") { Description = "Student's chat template: chatml | plain | a Jinja file | a model folder; default: the student's own, the --tokenizer folder's, the teacher's" };
        var templateArgs = new Option<string[]>("--chat-template-arg") { Description = "Template variable NAME=VALUE, JSON or text (e.g. enable_thinking=false); repeatable; recorded in the lineage", AllowMultipleArgumentsPerToken = false };
        var teacher = new Option<string?>("--teacher") { Description = "Teacher for whitebox/onpolicy: a local model spec; or openai:MODEL (onpolicy, sampled-reverse-kl, across tokenizers too) behind /v1/completions, reached with --base-url, --api-key-env and --ledger, priced with --price-input/--price-output or --prices, within --budget-usd" };
        var api = new ApiTeacherOptions();
        var prices = new PriceOptions();
        var device = new DeviceOption();
        var policy = new Option<string?>("--policy") { Description = "Terms-policy file to check the dataset's teachers against" };
        var configFile = new Option<string?>("--config") { Description = "train.json with any of these settings (flags override it)" };
        var steps = new Option<int?>("--steps") { Description = "Optimiser steps" };
        var batch = new Option<int?>("--batch-size") { Description = "Sequences per micro-batch" };
        var accum = new Option<int?>("--grad-accum") { Description = "Micro-batches per optimiser step" };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate" };
        var warmup = new Option<int?>("--warmup") { Description = "Linear warm-up steps" };
        var seqLen = new Option<int?>("--seq-len") { Description = "Longest training sequence (prompt included)" };
        var temperature = new Option<double?>("--temperature") { Description = "KD softmax temperature T (loss scaled by T²)" };
        var alpha = new Option<double?>("--alpha") { Description = "Weight of the KD term against cross-entropy on the teacher's text (default 1; 0.5 with --top-logprobs 1 to 4, --tail-policy renormalise, across tokenizers, and for on-policy with an API teacher)" };
        var beta = new Option<double?>("--beta") { Description = "β of the generalised JSD" };
        var lambda = new Option<double?>("--lambda") { Description = "On-policy: probability that a batch is the student's own samples" };
        var divergence = new Option<string?>("--divergence") { Description = "forward-kl | reverse-kl | jsd | sampled-reverse-kl (onpolicy only: per-token reverse KL on the student's samples) (default forward-kl; jsd for onpolicy)" };
        var sampleTemperature = new Option<double?>("--sample-temperature") { Description = "On-policy: the temperature the student samples its continuations at (default 1; not the KD --temperature)" };
        var maxNewTokens = new Option<int?>("--max-new-tokens") { Description = "On-policy: the most tokens the student samples per prompt (default 64)" };
        var tail = new Option<string?>("--tail-policy") { Description = "Top-k tail: fold-tail-into-bucket | renormalise | uniform-tail" };
        var topLogprobs = new Option<int?>("--top-logprobs") { Description = "Top-k mode: use only each token's K most likely stored alternatives (default: all stored)" };
        var teacherSamples = new Option<int?>("--teacher-samples") { Description = "Random-sampling KD with K teacher tokens per position: topk reads the dataset's stored samples (generate --sampled-logprobs), whitebox draws them from the teacher (0: off)" };
        var crossTokenizer = new Option<string?>("--cross-tokenizer") { Description = "When the student's tokenizer differs from the teacher's: alm | topk-chunk-starts | alm-and-topk (topk, and onpolicy with an API teacher on the dataset's text; default topk-chunk-starts), topk-chunk-starts | uld | hybrid (whitebox, default topk-chunk-starts)" };
        var chunkStartMatch = new Option<string?>("--chunk-start-match") { Description = "Across tokenizers, which teacher alternatives count at a chunk start: prefix (default: each alternative on the student tokens its bytes begin) | unambiguous-token | whole-token | first-token" };
        var hiddenWeight = new Option<double?>("--hidden-weight") { Description = "Weight of hidden-state matching through a learned projection (0: off)" };
        var evalEvery = new Option<int?>("--eval-every") { Description = "Evaluate on the held-out split every N steps" };
        var checkpointEvery = new Option<int?>("--checkpoint-every") { Description = "Checkpoint every N steps" };
        var snapshotEvery = new Option<int?>("--snapshot-every") { Description = "Also write the student as a model folder every N steps, under OUT/snapshots/step-NNNNNNNN, to evaluate along the run (0: never)" };
        var seed = new Option<long?>("--seed") { Description = "Seed for init, shuffling, split and sampling" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its latest checkpoint" };
        var loraRank = new Option<int?>("--lora-rank") { Description = "Train rank-R LoRA adapters on the frozen --student instead of all its weights; --out becomes an adapter folder that loads merged" };
        var loraAlpha = new Option<double?>("--lora-alpha") { Description = "LoRA alpha: the update is scaled by alpha / rank (default: the rank, scale 1)" };
        var loraTargets = new Option<string?>("--lora-targets") { Description = $"Linears that get adapters, comma-separated: {string.Join(",", LoraTarget.Names)} (default {string.Join(",", LoraSettings.DefaultTargets)})" };
        var command = new Command("train", "Train a student on a dataset folder: sft, top-k logprob KD, white-box KD or on-policy GKD")
        {
            data, outDir, mode, student, studentConfig, preset, tokenizer, template, templateArgs, teacher, policy, configFile, steps, batch, accum, lr, warmup, seqLen,
            temperature, alpha, beta, lambda, divergence, sampleTemperature, maxNewTokens, tail, topLogprobs, teacherSamples, crossTokenizer, chunkStartMatch, hiddenWeight, evalEvery, checkpointEvery, snapshotEvery, seed, resume,
            loraRank, loraAlpha, loraTargets,
        };
        api.AddTo(command);
        prices.AddTo(command);
        device.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(configFile);
            var config = path is null ? new LmTrainingConfig() : await LmTrainingConfig.LoadAsync(path, ct);
            config = config with
            {
                Data = parse.GetValue(data) ?? config.Data,
                Out = parse.GetValue(outDir) ?? config.Out,
                Mode = parse.GetValue(mode) is { } m ? ParseEnum<LmMode>("--mode", m) : config.Mode,
                Student = parse.GetValue(student) ?? config.Student,
                StudentConfig = parse.GetValue(studentConfig) ?? config.StudentConfig,
                StudentPreset = parse.GetValue(preset) ?? config.StudentPreset,
                Tokenizer = parse.GetValue(tokenizer) ?? config.Tokenizer,
                ChatTemplate = parse.GetValue(template) ?? config.ChatTemplate,
                ChatTemplateArgs = MergeTemplateArguments(config.ChatTemplateArgs, parse.GetValue(templateArgs)),
                Teacher = parse.GetValue(teacher) ?? config.Teacher,
                Policy = parse.GetValue(policy) ?? config.Policy,
                Steps = parse.GetValue(steps) ?? config.Steps,
                BatchSize = parse.GetValue(batch) ?? config.BatchSize,
                GradAccum = parse.GetValue(accum) ?? config.GradAccum,
                LearningRate = parse.GetValue(lr) ?? config.LearningRate,
                Warmup = parse.GetValue(warmup) ?? config.Warmup,
                SeqLen = parse.GetValue(seqLen) ?? config.SeqLen,
                Temperature = parse.GetValue(temperature) ?? config.Temperature,
                Alpha = parse.GetValue(alpha) ?? config.Alpha,
                Beta = parse.GetValue(beta) ?? config.Beta,
                Lambda = parse.GetValue(lambda) ?? config.Lambda,
                Divergence = parse.GetValue(divergence) is { } d ? ParseEnum<TokenDivergence>("--divergence", d) : config.Divergence,
                SampleTemperature = parse.GetValue(sampleTemperature) ?? config.SampleTemperature,
                MaxNewTokens = parse.GetValue(maxNewTokens) ?? config.MaxNewTokens,
                TailPolicy = parse.GetValue(tail) is { } t ? ParseEnum<TopKTailPolicy>("--tail-policy", t) : config.TailPolicy,
                TopLogprobs = parse.GetValue(topLogprobs) ?? config.TopLogprobs,
                TeacherSamples = parse.GetValue(teacherSamples) ?? config.TeacherSamples,
                CrossTokenizer = parse.GetValue(crossTokenizer) is { } x ? ParseEnum<CrossTokenizerMethod>("--cross-tokenizer", x) : config.CrossTokenizer,
                ChunkStartMatch = parse.GetValue(chunkStartMatch) is { } csm ? ParseEnum<AlternativeMatch>("--chunk-start-match", csm) : config.ChunkStartMatch,
                HiddenWeight = parse.GetValue(hiddenWeight) ?? config.HiddenWeight,
                EvalEvery = parse.GetValue(evalEvery) ?? config.EvalEvery,
                CheckpointEvery = parse.GetValue(checkpointEvery) ?? config.CheckpointEvery,
                SnapshotEvery = parse.GetValue(snapshotEvery) ?? config.SnapshotEvery,
                Seed = parse.GetValue(seed) ?? config.Seed,
                Resume = parse.GetValue(resume) || config.Resume,
                Lora = LoraFrom(config.Lora, parse.GetValue(loraRank), parse.GetValue(loraAlpha), parse.GetValue(loraTargets)),
                Device = parse.GetValue(device.Option) ?? config.Device,
            };
            config = config.Validate();
            var (price, budget) = await ScoringSpendAsync(prices, parse, config, ct);
            return await RunAsync(new TrainOptions { Config = config, TeacherSettings = api.Settings(parse), LedgerPath = parse.GetValue(api.Ledger), Price = price, BudgetUsd = budget }, ct);
        });
        return command;
    }

    /// <summary>What the API teacher's scoring requests cost (free where no price is given) and the most to spend on new ones; either without an API teacher is an input error naming the option.</summary>
    private static async Task<(ModelPrice Price, decimal? Budget)> ScoringSpendAsync(PriceOptions prices, ParseResult parse, LmTrainingConfig config, CancellationToken cancellationToken)
    {
        if (prices.FirstGiven(parse) is not { } given) return (ModelPrice.Free, null);
        if (!config.HasApiTeacher) throw InputException.InField(given, "prices the scoring requests of an API teacher (--teacher openai:MODEL); this run asks none");
        var price = await prices.ResolveAsync(parse, ModelSpec.Parse(config.Teacher!, "--teacher"), cancellationToken);
        return (price, prices.ResolveBudget(parse, price, apiTeacher: true));
    }

    /// <summary>The config file's LoRA settings overridden by the flags; --lora-alpha or --lora-targets without a rank is an error.</summary>
    private static LoraSettings? LoraFrom(LoraSettings? fromFile, int? rank, double? alpha, string? targets)
    {
        if (fromFile is null && rank is null)
        {
            if (alpha is not null) throw InputException.InField("--lora-alpha", "applies to LoRA training; give --lora-rank too");
            if (targets is not null) throw InputException.InField("--lora-targets", "applies to LoRA training; give --lora-rank too");
            return null;
        }
        var settings = fromFile ?? new LoraSettings();
        return settings with
        {
            Rank = rank ?? settings.Rank,
            Alpha = alpha ?? settings.Alpha,
            Targets = targets is null ? settings.Targets : LoraSettings.ParseTargets(targets),
        };
    }

    /// <summary>The config file's template variables, overridden by the command line's NAME=VALUE pairs.</summary>
    private static Dictionary<string, JsonNode?>? MergeTemplateArguments(Dictionary<string, JsonNode?>? fromFile, string[]? pairs)
    {
        if (pairs is not { Length: > 0 }) return fromFile;
        var merged = new Dictionary<string, JsonNode?>(fromFile ?? [], StringComparer.Ordinal);
        foreach (var (name, value) in ChatTemplate.ParseArguments(pairs)) merged[name] = value;
        return merged;
    }

    private async Task<int> RunAsync(TrainOptions options, CancellationToken cancellationToken)
    {
        var config = options.Config;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.Cancellation);
        LmTrainingReport? report = null;
        ProgressBar? bar = null;
        await context.Console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask($"{config.Mode.Name()}: loading", maxValue: config.Steps);
                bar = new ProgressBar(task);
                report = await DistilleryPipeline.TrainAsync(options, bar, linked.Token);
                task.Value = task.MaxValue;
            });
        var r = report!;
        // A non-interactive console (a log, CI) shows no live bar: print its last state once.
        if (!context.Console.Profile.Capabilities.Interactive && bar?.Last is { } last) context.Console.WriteLine(last);
        var table = new Table().AddColumn("").AddColumn("");
        table.AddRow("student", Markup.Escape($"{r.ModelDirectory} ({r.StudentParameters:N0} parameters)"));
        if (r.Lineage.Lora is { } lora)
            table.AddRow("LoRA", Markup.Escape($"rank {lora.Rank}, alpha {lora.Alpha:G4}, {string.Join(",", lora.Targets)}: {lora.TrainableParameters:N0} trainable parameters (merged on load and export)"));
        table.AddRow("steps", r.Result.Steps.ToString(CultureInfo.InvariantCulture) + (r.Result.ResumedFromStep is { } from ? $" (resumed from {from})" : ""));
        table.AddRow("rows", $"{r.TrainExamples} train, {r.EvalExamples} held out");
        table.AddRow("final train loss", r.Result.FinalLoss.ToString("F4", CultureInfo.InvariantCulture));
        if (r.EvalCrossEntropy is { } ce) table.AddRow("held-out cross-entropy", ce.ToString("F4", CultureInfo.InvariantCulture) + " nats/token");
        if (r.EvalKlToTeacher is { } kl) table.AddRow("held-out KL to teacher", kl.ToString("F4", CultureInfo.InvariantCulture) + " nats/token");
        foreach (var (teacher, tokens) in r.TokensPerTeacher.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            table.AddRow("tokens from", Markup.Escape($"{teacher}: {tokens:N0}"));
        context.Console.Write(table);
        context.Console.MarkupLine($"Sample it with [bold]distill sample --model checkpoint:{Markup.Escape(r.ModelDirectory)}[/]");
        return ExitCodes.Ok;
    }

    private static T ParseEnum<T>(string flag, string text) where T : struct, Enum
    {
        try
        {
            return JsonSerializer.Deserialize<T>($"\"{text.Trim().ToLowerInvariant()}\"", LmTrainingConfig.JsonOptions);
        }
        catch (JsonException)
        {
            var names = Enum.GetValues<T>().Select(v => JsonSerializer.Serialize(v, LmTrainingConfig.JsonOptions).Trim('"'));
            throw InputException.InField(flag, $"'{text}' is not one of {string.Join(", ", names)}");
        }
    }

    /// <summary>Updates the bar synchronously on the trainer's thread (Spectre's progress is thread-safe).</summary>
    private sealed class ProgressBar(ProgressTask task) : IProgress<PipelineProgress>
    {
        public string? Last { get; private set; }

        public void Report(PipelineProgress value)
        {
            task.Value = value.Completed;
            Last = value.Message;
            task.Description = Markup.Escape(Last);
        }
    }
}
