using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Hashing;
using Distillery.Core.Policy;
using Distillery.Core.Provenance;
using Distillery.Models.Llama;
using Distillery.Models.Loading;
using Distillery.Models.Runtime;
using Distillery.Models.Tokenizers;
using Distillery.Training.Language.Configuration;
using Distillery.Training.Language.Data;
using Distillery.Training.Language.Objectives;
using Distillery.Training.Losses;
using Distillery.Training.Trainer;
using static TorchSharp.torch;

namespace Distillery.Training.Language;

/// <summary>
/// A whole language-model distillation run, as <c>distill train</c> does it: read the dataset and enforce the terms
/// policy, load or create the student (and the local teacher), tokenise and split, train with the shared
/// <see cref="Trainer{TBatch}"/>, and write the student as a model folder with its lineage in <c>distillery.json</c> (with LoRA, an
/// adapter folder: see <see cref="LoraTraining"/>).
/// </summary>
public static class LmTraining
{
    /// <summary>The resolved config, written into the output folder at the start of a run.</summary>
    public const string RunFile = "train.resolved.json";

    /// <summary>The student's architecture, written at the start so a resumed run rebuilds exactly it.</summary>
    public const string StudentConfigFile = "student.config.json";

    /// <summary>Runs the training; cancellation saves a resume state and throws <see cref="OperationCanceledException"/>.</summary>
    public static Task<LmTrainingReport> RunAsync(LmTrainingConfig config, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        RunAsync(config, apiTeacher: null, progress, cancellationToken);

    /// <summary>
    /// Runs the training, an on-policy run's samples scored by <paramref name="apiTeacher"/> where the config's teacher is
    /// behind an API (<c>openai:MODEL</c>); it is asked once before training whether it scores text as the student tokenises it.
    /// Cancellation saves a resume state and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public static async Task<LmTrainingReport> RunAsync(LmTrainingConfig config, ApiScoringTeacher? apiTeacher, IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (config.HasApiTeacher && apiTeacher is null)
            throw InputException.InField("--teacher", $"{config.Teacher} is behind an API: run it through distill train or DistilleryPipeline.TrainAsync, which reach it through the ledger");
        TorchRuntime.EnsureLoaded();
        // Resolved first, so that a device this machine lacks is refused before any work. Models are built or loaded on the
        // CPU and then moved, so a seed gives the same initial weights on every device; the optimiser, built over the moved
        // parameters, keeps its moments there, and batches are collated onto it.
        var device = DeviceSpec.Parse(config.Device).Resolve();
        var resumeConfig = CheckOutputFolder(config);
        var (manifest, rows) = await ReadDataAsync(config, cancellationToken);
        using var teacher = (await LoadFrozenTeacherAsync(config, cancellationToken))?.MoveTo(device);
        using var student = (await CreateStudentAsync(config, teacher, resumeConfig, cancellationToken)).MoveTo(device);
        using var lora = config.Lora is null ? null : await LoraTraining.AttachAsync(config, student, cancellationToken);
        var cross = CrossTokenizerSteps.For(config, rows, student, teacher);
        if (config.Mode == LmMode.Onpolicy && teacher is not null) CheckSharedVocabulary(student, teacher);
        var data = PrepareData(config, rows, student, teacher, cross, device);
        if (apiTeacher is not null) await ApiTeacherProbe.CheckAsync(config.Teacher!, apiTeacher.Score, student.Tokenizer, data.Train[0], cancellationToken);

        manual_seed(config.Seed);
        var model = CreateDistillationStudent(config, student, teacher);
        var apiScorer = apiTeacher is null ? null : new ApiSampleScorer(model, student.Tokenizer, apiTeacher.Score, cancellationToken);
        var objective = CreateObjective(config, model, teacher, apiScorer, cross?.CreateObjective(config, student, teacher), student.Tokenizer, data.SeqLen);
        if (resumeConfig is null) await WriteRunFilesAsync(config, student, lora, cancellationToken);
        var trainer = new Trainer<LmBatch>(lora?.TrainedModules(model) ?? model, objective, data.TrainBatches, data.EvalBatches, TrainerOptionsFor(config, hasEval: data.EvalBatches is not null));
        var reporting = config.SnapshotEvery > 0 ? new StudentSnapshots(student, config.Out, config.SnapshotEvery, progress) : progress;
        var result = await trainer.RunAsync(reporting, cancellationToken);

        var (evalCe, evalKl) = EvaluateHeldOut(config, student, teacher, cross, data.Eval);
        var tokens = TokensPerTeacher(data.TrainBatches, (long)result.Steps * config.GradAccum);
        var lineage = await LineageAsync(config, manifest, rows, teacher, student, result, tokens, data, evalCe, evalKl, cancellationToken);
        if (cross is not null) lineage = cross.Record(lineage, config, data.Train, teacher);
        if (apiTeacher is not null && apiScorer is not null)
            lineage = lineage with
            {
                OnPolicyScoring = new LineageOnPolicyScoring(config.Teacher!, apiTeacher.Endpoint, apiTeacher.Ledger, apiScorer.ScoredSequences, apiScorer.OneToOneTokens, apiScorer.ChunkedTokens),
            };
        student.InvalidateInferenceWeights();
        if (lora is null) await student.SaveAsync(config.Out, lineage, cancellationToken);
        else await lora.SaveAsync(config.Out, student, lineage = lineage with { Lora = lora.Lineage() }, cancellationToken);
        return new LmTrainingReport(result, config.Out, student.Model.ParameterCount, data.Train.Count, data.Eval.Count, tokens, evalCe, evalKl, lineage);
    }

    /// <summary>The run's examples, split into training and held-out rows, and the micro-batches over each.</summary>
    private sealed record RunData(int SeqLen, LmExampleSet Set, IReadOnlyList<LmExample> Train, IReadOnlyList<LmExample> Eval, LmBatchSource TrainBatches, LmBatchSource? EvalBatches);

    /// <summary>Tokenises the rows (aligned across tokenizers where <paramref name="cross"/> is given) within the context of both models, and splits them.</summary>
    private static RunData PrepareData(LmTrainingConfig config, IReadOnlyList<DatasetRow> rows, ModelBundle student, ModelBundle? teacher, CrossTokenizerSteps? cross, Device device)
    {
        var seqLen = Math.Min(config.SeqLen, student.Config.MaxPositionEmbeddings);
        if (teacher is not null) seqLen = Math.Min(seqLen, teacher.Config.MaxPositionEmbeddings);
        var set = cross?.BuildExamples(config, rows, student, teacher, seqLen)
                  ?? LmExampleBuilder.Build(rows, student.Tokenizer, student.ChatTemplate, new LmTokenization(seqLen, WithTopK: config.Mode == LmMode.Topk || config.HasApiTeacher,
                      TeacherSamples: config.Mode == LmMode.Topk ? config.TeacherSamples : 0, TopLogprobs: config.TopLogprobs), DatasetFolder.DataPath(config.Data));
        if (set.Examples.Count == 0) throw InputException.InField("--seq-len", $"{seqLen} leaves no completion token in any row; raise it");
        var (train, eval) = LmSplit.Split(set.Examples, config.EvalFraction, config.Seed);
        if (train.Count == 0) throw InputException.InField("eval_fraction", "holds out every row; lower it");
        return new RunData(seqLen, set, train, eval, new LmBatchSource(train, config.BatchSize, config.Seed, device: device),
            eval.Count > 0 ? new LmBatchSource(eval, config.BatchSize, config.Seed, shuffle: false, device: device) : null);
    }

    /// <summary>The student as the trainer sees it: with a learned projection onto the teacher's hidden states when they are matched.</summary>
    private static DistillationStudent CreateDistillationStudent(LmTrainingConfig config, ModelBundle student, ModelBundle? teacher)
    {
        var hidden = config.HiddenWeight > 0 && teacher is not null;
        // The projection is created on the CPU (seeded as before) and joins the student on its device.
        var projection = hidden ? TorchSharp.ModuleExtensionMethods.to(new HiddenStateProjection(student.Config.HiddenSize, teacher!.Config.HiddenSize), student.Model.OutputWeight.device) : null;
        var model = new DistillationStudent(student.Model, projection);
        model.Settle();
        return model;
    }

    /// <summary>Held-out cross-entropy, and KL to a local teacher of the same vocabulary; null where there is nothing to measure.</summary>
    private static (double? CrossEntropy, double? Kl) EvaluateHeldOut(LmTrainingConfig config, ModelBundle student, ModelBundle? teacher, CrossTokenizerSteps? cross, IReadOnlyList<LmExample> eval)
    {
        if (eval.Count == 0) return (null, null);
        var ce = LmEvaluation.CrossEntropy(student.Model, eval, config.BatchSize);
        // A KL per token needs one vocabulary on both sides; across tokenizers there is none to compare (see distill eval).
        double? kl = teacher is not null && cross is null ? LmEvaluation.KlToTeacher(student.Model, teacher.Model, eval, config.BatchSize) : null;
        return (ce, kl);
    }

    /// <summary>
    /// Checks the output folder against --resume before any work; returns the saved student architecture when resuming a new
    /// student. A run whose student.config.json is missing is an error: rebuilding from today's flags could change the model.
    /// </summary>
    private static string? CheckOutputFolder(LmTrainingConfig config)
    {
        if (!DatasetFolder.IsDataset(config.Data))
            throw InputException.InField("--data", $"'{config.Data}' holds no {DatasetFolder.DataFile}; give a dataset folder made by 'distill generate'");
        var hasRun = ResumeStateStore.FindLatest(config.Out) is not null;
        if (hasRun && !config.Resume)
            throw InputException.InField("--out", $"'{config.Out}' already holds a training run; pass --resume to continue it, or choose another --out");
        if (!hasRun) return null;
        var path = Path.Combine(config.Out, StudentConfigFile);
        if (File.Exists(path)) return path;
        if (config.Student is null)
            throw InputException.InFile(path, "is missing, so the run cannot be resumed with the architecture it started with; restore it or train into a fresh --out");
        return null;
    }

    /// <summary>The dataset's manifest and rows, checked against the terms policy.</summary>
    private static async Task<(DatasetManifest? Manifest, IReadOnlyList<DatasetRow> Rows)> ReadDataAsync(LmTrainingConfig config, CancellationToken cancellationToken)
    {
        var manifest = await DatasetReader.ReadManifestAsync(config.Data, cancellationToken);
        var rows = await DatasetReader.ReadAllRowsAsync(config.Data, cancellationToken);
        if (rows.Count == 0) throw InputException.InFile(DatasetFolder.DataPath(config.Data), "has no rows to train on");
        var policy = config.Policy is null ? null : await TermsPolicy.LoadAsync(config.Policy, cancellationToken);
        DatasetPolicy.Enforce(config.Data, manifest, rows, policy);
        return (manifest, rows);
    }

    /// <summary>The local teacher, in eval mode with its parameters frozen, or null where none was given.</summary>
    private static async Task<ModelBundle?> LoadFrozenTeacherAsync(LmTrainingConfig config, CancellationToken cancellationToken)
    {
        if (config.Teacher is null || config.HasApiTeacher) return null;
        var teacher = await ModelLoader.LoadAsync(config.Teacher, cancellationToken: cancellationToken);
        TemplateChoice(config, null).ApplyTo(teacher);
        teacher.Model.eval();
        foreach (var p in teacher.Model.parameters()) p.requires_grad = false;
        return teacher;
    }

    /// <summary>Writes the run's configuration and the student's architecture, which a resumed run reads back.</summary>
    private static async Task WriteRunFilesAsync(LmTrainingConfig config, ModelBundle student, LoraTraining? lora, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(config.Out);
        await File.WriteAllTextAsync(Path.Combine(config.Out, RunFile), JsonSerializer.Serialize(config, LmTrainingConfig.JsonOptions) + "\n", cancellationToken);
        await student.Config.SaveAsync(Path.Combine(config.Out, StudentConfigFile), cancellationToken);
        if (lora is not null) await lora.WriteRunFileAsync(config.Out, cancellationToken);
    }

    private static TrainerOptions TrainerOptionsFor(LmTrainingConfig config, bool hasEval) => new()
    {
        OutputDirectory = config.Out,
        MaxSteps = config.Steps,
        GradientAccumulation = config.GradAccum,
        LearningRate = config.LearningRate,
        MinLearningRate = config.MinLearningRate,
        WarmupSteps = config.Warmup,
        WeightDecay = config.WeightDecay,
        ClipGradientNorm = config.Clip > 0 ? config.Clip : null,
        Seed = config.Seed,
        EvalEvery = hasEval ? config.EvalEvery : 0,
        EvaluateAtStart = hasEval && config.Student is not null,
        EarlyStoppingPatience = hasEval ? config.Patience : null,
        CheckpointEvery = config.CheckpointEvery,
        Resume = config.Resume,
    };

    /// <summary>The student: an existing model, or a new one from a config file or preset with the given (or the teacher's) tokenizer.</summary>
    private static async Task<ModelBundle> CreateStudentAsync(LmTrainingConfig config, ModelBundle? teacher, string? resumeConfig, CancellationToken cancellationToken)
    {
        var chosen = config.ChatTemplate is null ? null : await ChatTemplate.ResolveAsync(config.ChatTemplate, "chat_template", cancellationToken);
        if (config.Student is not null)
        {
            var existing = await ModelLoader.LoadAsync(config.Student, cancellationToken: cancellationToken);
            TemplateChoice(config, chosen).ApplyTo(existing);
            return existing;
        }
        var tokenizer = config.Tokenizer is not null
            ? await TokenizerLoader.LoadAsync(config.Tokenizer, cancellationToken)
            : teacher?.Tokenizer ?? throw InputException.InField("--tokenizer", "a new student needs a tokenizer: give --tokenizer (file, folder or tiktoken:NAME) or --teacher");
        // A tokenizer folder from a real model (tokenizer_config.json) brings that model's template.
        var tokenizerTemplate = chosen is null && config.Tokenizer is not null && Directory.Exists(config.Tokenizer)
            ? await ChatTemplate.TryLoadAsync(config.Tokenizer, cancellationToken)
            : null;
        var template = TemplateChoice(config, null).For(chosen ?? tokenizerTemplate ?? teacher?.ChatTemplate ?? ChatTemplate.ChatML);
        // The teacher's model may pad its vocabulary beyond its tokenizer's; a student sharing that tokenizer matches the model.
        var vocab = config.Tokenizer is null && teacher is not null ? teacher.Config.VocabSize : tokenizer.VocabSize;
        LlamaConfig architecture;
        if (resumeConfig is not null) architecture = await LlamaConfig.LoadAsync(resumeConfig, cancellationToken);
        else if (config.StudentConfig is not null) architecture = await ReadStudentConfigAsync(config.StudentConfig, vocab, cancellationToken);
        else architecture = StudentPresets.Get(config.StudentPreset, vocab);
        if (architecture.VocabSize < tokenizer.VocabSize)
            throw InputException.InField("vocab_size", $"{architecture.VocabSize} is smaller than the tokenizer's {tokenizer.VocabSize} tokens; leave it out to use the tokenizer's");
        return ModelBundle.CreateRandom(architecture, config.Seed, tokenizer, template);
    }

    private static ChatTemplateChoice TemplateChoice(LmTrainingConfig config, ChatTemplate? chosen) =>
        new(chosen, config.ChatTemplateArgs ?? new Dictionary<string, JsonNode?>());

    private static async Task<LlamaConfig> ReadStudentConfigAsync(string path, int vocab, CancellationToken cancellationToken)
    {
        if (!File.Exists(path)) throw InputException.InFile(path, "no such student config; write a JSON object with hidden_size, intermediate_size, num_hidden_layers, num_attention_heads");
        JsonObject node;
        try
        {
            node = JsonNode.Parse(await File.ReadAllTextAsync(path, cancellationToken)) as JsonObject
                   ?? throw InputException.InFile(path, "must be a JSON object with LlamaConfig fields (hidden_size, num_hidden_layers, ...)");
        }
        catch (JsonException e)
        {
            throw InputException.InFile(path, $"not JSON ({ErrorText.FirstLine(e)})");
        }
        node["vocab_size"] ??= vocab;
        node["tie_word_embeddings"] ??= true;
        return LlamaConfig.Parse(node.ToJsonString(), path);
    }

    private static void CheckSharedVocabulary(ModelBundle student, ModelBundle teacher)
    {
        if (student.Config.VocabSize != teacher.Config.VocabSize || !SharedVocabulary.Between(student.Tokenizer, teacher.Tokenizer))
            throw InputException.InField("--teacher", $"on-policy distillation needs the student to share the teacher's tokenizer, but {student.Tokenizer.Name} (vocab {student.Config.VocabSize}) differs from {teacher.Tokenizer.Name} (vocab {teacher.Config.VocabSize}); use --mode whitebox (which distils across tokenizers) or --mode sft");
    }

    /// <summary>The run's objective; <paramref name="crossTokenizer"/>, the chunk loss across tokenizers, is the whole of it, or with an API teacher the loss on the dataset's text.</summary>
    private static ITrainingObjective<LmBatch> CreateObjective(LmTrainingConfig config, DistillationStudent model, ModelBundle? teacher, ApiSampleScorer? apiScorer,
        ITrainingObjective<LmBatch>? crossTokenizer, ITextTokenizer tokenizer, int seqLen)
    {
        if (crossTokenizer is not null && apiScorer is null) return crossTokenizer;
        switch (config.Mode)
        {
            case LmMode.Sft:
                return new SftObjective(model.Student);
            case LmMode.Topk:
                return new TopKObjective(model.Student, config.TailPolicy, config.ResolvedAlpha, fromSamples: config.TeacherSamples > 0);
            case LmMode.Onpolicy when apiScorer is not null:
                // On the dataset's text the API teacher's stored top-k logprobs stand in for its forward pass (across tokenizers, through the chunk loss).
                return new OnPolicyObjective(model, crossTokenizer ?? new TopKObjective(model.Student, config.TailPolicy, config.ResolvedAlpha), apiScorer, Sampling(config, tokenizer, seqLen));
            case LmMode.Whitebox:
            case LmMode.Onpolicy:
            {
                var loss = new WhiteBoxLoss(config.ResolvedDivergence, config.Temperature, config.Beta, config.ResolvedAlpha, config.HiddenWeight, config.HiddenMetric,
                    config.TeacherSamples, config.Seed);
                var whiteBox = new WhiteBoxObjective(model, teacher!.Model, loss);
                return config.Mode == LmMode.Whitebox
                    ? whiteBox
                    : new OnPolicyObjective(model, whiteBox, new LocalSampleScorer(whiteBox), Sampling(config, tokenizer, seqLen));
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(config), config.Mode, "unknown mode");
        }
    }

    private static OnPolicySampling Sampling(LmTrainingConfig config, ITextTokenizer tokenizer, int seqLen) =>
        new(config.Lambda, config.MaxNewTokens, seqLen, config.Seed, config.SampleTemperature, tokenizer.StopIds);

    /// <summary>Completion tokens per dataset teacher over the micro-batches the run consumed (the data position replayed without tensors).</summary>
    private static Dictionary<string, long> TokensPerTeacher(LmBatchSource train, long microBatches)
    {
        var tokens = new Dictionary<string, long>(StringComparer.Ordinal);
        for (long cursor = 0; cursor < microBatches; cursor++)
            foreach (var e in train.ExamplesAt((int)(cursor / train.BatchesPerEpoch), (int)(cursor % train.BatchesPerEpoch)))
                tokens[e.Teacher] = tokens.GetValueOrDefault(e.Teacher) + e.CompletionLength;
        return tokens;
    }

    private static string Losses(LmTrainingConfig config) => config.Mode switch
    {
        LmMode.Sft => "cross-entropy on teacher text",
        LmMode.Onpolicy when config.HasApiTeacher => ApiSampledLoss(config) + $"; on the dataset's text {config.ResolvedAlpha:G3}·top-k KL ({Kebab(config.TailPolicy)}) + {1 - config.ResolvedAlpha:G3}·cross-entropy",
        LmMode.Topk when config.TeacherSamples > 0 => $"{config.ResolvedAlpha:G3}·sampled KL ({config.TeacherSamples} stored teacher samples) + {1 - config.ResolvedAlpha:G3}·cross-entropy",
        LmMode.Topk => $"{config.ResolvedAlpha:G3}·top-{(config.TopLogprobs > 0 ? config.TopLogprobs.ToString(CultureInfo.InvariantCulture) : "k")} KL ({Kebab(config.TailPolicy)}) + {1 - config.ResolvedAlpha:G3}·cross-entropy",
        LmMode.Whitebox when config.TeacherSamples > 0 => $"sampled forward KL ({config.TeacherSamples} teacher samples per position)"
             + (config.ResolvedAlpha < 1 ? $", α={config.ResolvedAlpha:G3} with cross-entropy" : ""),
        _ => $"{(config.Mode == LmMode.Onpolicy ? $"on-policy (λ={config.Lambda:G3}, sampled at T={config.SampleTemperature:G3}) " : "")}{Kebab(config.ResolvedDivergence)}"
             + (config.ResolvedDivergence == TokenDivergence.Jsd ? $" β={config.Beta:G3}" : "")
             + $" at T={config.Temperature:G3}" + (config.ResolvedAlpha < 1 ? $", α={config.ResolvedAlpha:G3} with cross-entropy" : "")
             + (config.HiddenWeight > 0 ? $" + {config.HiddenWeight:G3}·hidden-state {Kebab(config.HiddenMetric)}" : ""),
    };

    /// <summary>The loss on the student's samples that an API teacher scores, as the lineage names it.</summary>
    internal static string ApiSampledLoss(LmTrainingConfig config) =>
        $"on-policy (λ={config.Lambda:G3}, sampled at T={config.SampleTemperature:G3}) sampled-reverse-kl, samples scored by {config.Teacher} through its API";

    /// <summary>An option's value as written in the config (kebab-case).</summary>
    internal static string Kebab<T>(T value) where T : struct, Enum => JsonSerializer.Serialize(value, LmTrainingConfig.JsonOptions).Trim('"');

    private static async Task<Lineage> LineageAsync(LmTrainingConfig config, DatasetManifest? manifest, IReadOnlyList<DatasetRow> rows, ModelBundle? teacher,
        ModelBundle student, TrainingResult result, IReadOnlyDictionary<string, long> tokens, RunData data, double? evalCe, double? evalKl,
        CancellationToken cancellationToken)
    {
        var total = tokens.Values.Sum();
        var teachers = TeacherContributions.FromRows(rows).Select(c =>
        {
            var trained = tokens.GetValueOrDefault(c.Provider == "none" ? "none" : $"{c.Provider}:{c.RequestedModel}");
            return new LineageTeacher(c.Provider, c.RequestedModel, [.. c.ModelsReported], c.Endpoint, c.Rows, trained,
                total == 0 ? 0 : Math.Round((double)trained / total, 6));
        }).ToList();
        return new Lineage
        {
            Created = DateTimeOffset.UtcNow.ToString("O"),
            Kind = "language-model distillation",
            Mode = Kebab(config.Mode),
            Config = JsonSerializer.SerializeToNode(config, LmTrainingConfig.JsonOptions)!.AsObject(),
            Student = new LineageStudent(config.Student ?? student.Spec, student.Model.ParameterCount, student.Tokenizer.Name),
            ChatTemplate = new LineageChatTemplate(student.ChatTemplate.Name, student.ChatTemplate.Sha256,
                student.ChatTemplate.Arguments.ToDictionary(kv => kv.Key, kv => kv.Value?.DeepClone())),
            Datasets =
            [
                new LineageDataset
                {
                    Path = Path.GetFullPath(config.Data),
                    ManifestSha256 = await HashAsync(DatasetFolder.ManifestPath(config.Data), cancellationToken),
                    DataSha256 = await HashAsync(DatasetFolder.DataPath(config.Data), cancellationToken),
                    Rows = rows.Count,
                    RowsSkipped = data.Set.Skipped,
                    TrainRows = data.Train.Count,
                    EvalRows = data.Eval.Count,
                    PromptsSha256 = manifest?.Prompts?.Sha256,
                },
            ],
            Teachers = teachers,
            Losses = Losses(config),
            Steps = result.Steps,
            TrainingTokens = total,
            Metrics = new LineageMetrics(result.FinalLoss, result.BestEvalLoss, result.BestEvalStep, evalCe, evalKl, result.StoppedEarly),
            LocalTeacher = teacher is null
                ? null
                : new LineageLocalTeacher(teacher.Spec, teacher.Model.ParameterCount,
                    config.Mode is LmMode.Whitebox or LmMode.Onpolicy ? "white-box scorer" : "tokenizer only"),
        };
    }

    private static async Task<string?> HashAsync(string path, CancellationToken cancellationToken) =>
        File.Exists(path) ? await Sha256Hex.OfFileAsync(path, cancellationToken) : null;
}
