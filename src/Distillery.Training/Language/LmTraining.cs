using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Policy;
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
/// <see cref="Trainer{TBatch}"/>, and write the student as a model folder with its lineage in <c>distillery.json</c>.
/// </summary>
public static class LmTraining
{
    /// <summary>The resolved config, written into the output folder at the start of a run.</summary>
    public const string RunFile = "train.resolved.json";

    /// <summary>The student's architecture, written at the start so a resumed run rebuilds exactly it.</summary>
    public const string StudentConfigFile = "student.config.json";

    /// <summary>Runs the training; cancellation saves a checkpoint and throws <see cref="OperationCanceledException"/>.</summary>
    public static async Task<LmTrainingReport> RunAsync(LmTrainingConfig config, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        TorchRuntime.EnsureLoaded();
        if (!DatasetFolder.IsDataset(config.Data))
            throw InputException.InField("--data", $"'{config.Data}' holds no {DatasetFolder.DataFile}; give a dataset folder made by 'distill generate'");
        var hasRun = CheckpointStore.FindLatest(config.Out) is not null;
        if (hasRun && !config.Resume)
            throw InputException.InField("--out", $"'{config.Out}' already holds a training run; pass --resume to continue it, or choose another --out");
        var studentConfigPath = Path.Combine(config.Out, StudentConfigFile);
        var resuming = config.Resume && hasRun && File.Exists(studentConfigPath);

        var manifest = await DatasetReader.ReadManifestAsync(config.Data, cancellationToken);
        var rows = await DatasetReader.ReadAllRowsAsync(config.Data, cancellationToken);
        if (rows.Count == 0) throw InputException.InFile(DatasetFolder.DataPath(config.Data), "has no rows to train on");
        var policy = config.Policy is null ? null : await TermsPolicy.LoadAsync(config.Policy, cancellationToken);
        DatasetPolicy.Enforce(config.Data, manifest, rows, policy);

        using var teacher = config.Teacher is null ? null : await ModelLoader.LoadAsync(config.Teacher, cancellationToken: cancellationToken);
        if (teacher is not null)
        {
            teacher.Model.eval();
            foreach (var p in teacher.Model.parameters()) p.requires_grad = false;
        }
        using var student = await CreateStudentAsync(config, teacher, resuming ? studentConfigPath : null, cancellationToken);
        if (config.Mode is LmMode.Whitebox or LmMode.Onpolicy) CheckSharedVocabulary(student, teacher!);

        var seqLen = Math.Min(config.SeqLen, student.Config.MaxPositionEmbeddings);
        if (teacher is not null) seqLen = Math.Min(seqLen, teacher.Config.MaxPositionEmbeddings);
        var set = LmExampleBuilder.Build(rows, student.Tokenizer, student.ChatTemplate, new LmTokenization(seqLen, WithTopK: config.Mode == LmMode.Topk), DatasetFolder.DataPath(config.Data));
        if (set.Examples.Count == 0) throw InputException.InField("--seq-len", $"{seqLen} leaves no completion token in any row; raise it");
        var (trainSet, evalSet) = LmSplit.Split(set.Examples, config.EvalFraction, config.Seed);
        if (trainSet.Count == 0) throw InputException.InField("eval_fraction", "holds out every row; lower it");
        var train = new LmBatchSource(trainSet, config.BatchSize, config.Seed);
        var eval = evalSet.Count > 0 ? new LmBatchSource(evalSet, config.BatchSize, config.Seed, shuffle: false) : null;

        manual_seed(config.Seed);
        var hidden = config.HiddenWeight > 0 && teacher is not null;
        var model = new DistillationStudent(student.Model, hidden ? new HiddenStateProjection(student.Config.HiddenSize, teacher!.Config.HiddenSize) : null);
        model.Settle();
        var objective = CreateObjective(config, model, teacher, student.Tokenizer, seqLen);

        Directory.CreateDirectory(config.Out);
        if (!resuming)
        {
            await File.WriteAllTextAsync(Path.Combine(config.Out, RunFile), JsonSerializer.Serialize(config, LmTrainingConfig.JsonOptions) + "\n", cancellationToken);
            await student.Config.SaveAsync(studentConfigPath, cancellationToken);
        }
        var options = new TrainerOptions
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
            EvalEvery = eval is null ? 0 : config.EvalEvery,
            EarlyStoppingPatience = eval is null ? null : config.Patience,
            CheckpointEvery = config.CheckpointEvery,
            Resume = config.Resume,
        };
        var trainer = new Trainer<LmBatch>(model, objective, train, eval, options);
        var result = await trainer.RunAsync(progress, cancellationToken);

        double? evalCe = evalSet.Count > 0 ? LmEvaluation.CrossEntropy(student.Model, evalSet, config.BatchSize) : null;
        double? evalKl = evalSet.Count > 0 && teacher is not null ? LmEvaluation.KlToTeacher(student.Model, teacher.Model, evalSet, config.BatchSize) : null;
        var tokens = TokensPerTeacher(train, (long)result.Steps * config.GradAccum);
        var lineage = await LineageAsync(config, manifest, rows, teacher, student, result, tokens, set, trainSet.Count, evalSet.Count, evalCe, evalKl, cancellationToken);
        student.InvalidateInferenceWeights();
        await student.SaveAsync(config.Out, lineage, cancellationToken);
        return new LmTrainingReport(result, config.Out, student.Model.ParameterCount, trainSet.Count, evalSet.Count, tokens, evalCe, evalKl, lineage);
    }

    /// <summary>The student: an existing model, or a new one from a config file or preset with the given (or the teacher's) tokenizer.</summary>
    private static async Task<ModelBundle> CreateStudentAsync(LmTrainingConfig config, ModelBundle? teacher, string? resumeConfig, CancellationToken cancellationToken)
    {
        if (config.Student is not null) return await ModelLoader.LoadAsync(config.Student, cancellationToken: cancellationToken);
        var tokenizer = config.Tokenizer is not null
            ? await TokenizerLoader.LoadAsync(config.Tokenizer, cancellationToken)
            : teacher?.Tokenizer ?? throw InputException.InField("--tokenizer", "a new student needs a tokenizer: give --tokenizer (file, folder or tiktoken:NAME) or --teacher");
        var template = config.ChatTemplate switch
        {
            "chatml" => ChatTemplate.ChatML,
            "plain" => ChatTemplate.Plain,
            _ => teacher?.ChatTemplate ?? ChatTemplate.ChatML,
        };
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
        var same = student.Config.VocabSize == teacher.Config.VocabSize && student.Tokenizer.VocabSize == teacher.Tokenizer.VocabSize;
        for (var id = 0; same && id < student.Tokenizer.VocabSize; id++)
            same = student.Tokenizer.TokenBytes(id).SequenceEqual(teacher.Tokenizer.TokenBytes(id));
        if (!same)
            throw InputException.InField("--teacher", $"white-box distillation needs the student to share the teacher's tokenizer, but {student.Tokenizer.Name} (vocab {student.Config.VocabSize}) differs from {teacher.Tokenizer.Name} (vocab {teacher.Config.VocabSize}); use --mode sft");
    }

    private static ITrainingObjective<LmBatch> CreateObjective(LmTrainingConfig config, DistillationStudent model, ModelBundle? teacher, ITextTokenizer tokenizer, int seqLen)
    {
        switch (config.Mode)
        {
            case LmMode.Sft:
                return new SftObjective(model.Student);
            case LmMode.Topk:
                return new TopKObjective(model.Student, config.TailPolicy, config.ResolvedAlpha);
            case LmMode.Whitebox:
            case LmMode.Onpolicy:
            {
                var loss = new WhiteBoxLoss(config.ResolvedDivergence, config.Temperature, config.Beta, config.ResolvedAlpha, config.HiddenWeight, config.HiddenMetric);
                var whiteBox = new WhiteBoxObjective(model, teacher!.Model, loss);
                return config.Mode == LmMode.Whitebox
                    ? whiteBox
                    : new OnPolicyObjective(model, whiteBox, config.Lambda, config.MaxNewTokens, seqLen, config.Seed, tokenizer.StopIds);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(config), config.Mode, "unknown mode");
        }
    }

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
        LmMode.Topk => $"{config.ResolvedAlpha:G3}·top-k KL ({Kebab(config.TailPolicy)}) + {1 - config.ResolvedAlpha:G3}·cross-entropy",
        _ => $"{(config.Mode == LmMode.Onpolicy ? $"on-policy (λ={config.Lambda:G3}) " : "")}{Kebab(config.ResolvedDivergence)}"
             + (config.ResolvedDivergence == TokenDivergence.Jsd ? $" β={config.Beta:G3}" : "")
             + $" at T={config.Temperature:G3}" + (config.ResolvedAlpha < 1 ? $", α={config.ResolvedAlpha:G3} with cross-entropy" : "")
             + (config.HiddenWeight > 0 ? $" + {config.HiddenWeight:G3}·hidden-state {Kebab(config.HiddenMetric)}" : ""),
    };

    private static string Kebab<T>(T value) where T : struct, Enum => JsonSerializer.Serialize(value, LmTrainingConfig.JsonOptions).Trim('"');

    private static async Task<JsonObject> LineageAsync(LmTrainingConfig config, DatasetManifest? manifest, IReadOnlyList<DatasetRow> rows, ModelBundle? teacher,
        ModelBundle student, TrainingResult result, IReadOnlyDictionary<string, long> tokens, LmExampleSet set, int trainCount, int evalCount,
        double? evalCe, double? evalKl, CancellationToken cancellationToken)
    {
        var total = tokens.Values.Sum();
        var teachers = new JsonArray();
        foreach (var c in TeacherContributions.FromRows(rows))
        {
            var key = c.Provider == "none" ? "none" : $"{c.Provider}:{c.RequestedModel}";
            var trained = tokens.GetValueOrDefault(key);
            teachers.Add(new JsonObject
            {
                ["provider"] = c.Provider,
                ["model"] = c.RequestedModel,
                ["models_reported"] = new JsonArray([.. c.ModelsReported.Select(m => (JsonNode?)JsonValue.Create(m))]),
                ["endpoint"] = c.Endpoint,
                ["rows"] = c.Rows,
                ["training_tokens"] = trained,
                ["share"] = total == 0 ? 0 : Math.Round((double)trained / total, 6),
            });
        }
        var lineage = new JsonObject
        {
            ["format"] = "distillery-lineage/1",
            ["created"] = DateTimeOffset.UtcNow.ToString("O"),
            ["kind"] = "language-model distillation",
            ["mode"] = Kebab(config.Mode),
            ["config"] = JsonSerializer.SerializeToNode(config, LmTrainingConfig.JsonOptions),
            ["student"] = new JsonObject
            {
                ["init"] = config.Student ?? student.Spec,
                ["parameters"] = student.Model.ParameterCount,
                ["tokenizer"] = student.Tokenizer.Name,
            },
            ["datasets"] = new JsonArray(new JsonObject
            {
                ["path"] = Path.GetFullPath(config.Data),
                ["manifest_sha256"] = await HashAsync(DatasetFolder.ManifestPath(config.Data), cancellationToken),
                ["data_sha256"] = await HashAsync(DatasetFolder.DataPath(config.Data), cancellationToken),
                ["rows"] = rows.Count,
                ["rows_skipped"] = set.Skipped,
                ["train_rows"] = trainCount,
                ["eval_rows"] = evalCount,
                ["prompts_sha256"] = manifest?.Prompts?.Sha256,
            }),
            ["teachers"] = teachers,
            ["losses"] = Losses(config),
            ["steps"] = result.Steps,
            ["training_tokens"] = total,
            ["metrics"] = new JsonObject
            {
                ["final_train_loss"] = result.FinalLoss,
                ["best_eval_loss"] = result.BestEvalLoss,
                ["best_eval_step"] = result.BestEvalStep,
                ["eval_cross_entropy"] = evalCe,
                ["eval_kl_to_teacher"] = evalKl,
                ["stopped_early"] = result.StoppedEarly,
            },
        };
        if (teacher is not null)
            lineage["local_teacher"] = new JsonObject
            {
                ["spec"] = teacher.Spec,
                ["parameters"] = teacher.Model.ParameterCount,
                ["role"] = config.Mode is LmMode.Whitebox or LmMode.Onpolicy ? "white-box scorer" : "tokenizer only",
            };
        return lineage;
    }

    private static async Task<string?> HashAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path)) return null;
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
    }
}
