using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Specs;
using Distillery.Models.Lora;
using Distillery.Models.Runtime;
using Distillery.Training.CrossTokenizer;
using Distillery.Training.Language.Objectives;
using Distillery.Training.Losses;

namespace Distillery.Training.Language.Configuration;

/// <summary>
/// Everything a language-model distillation run needs, as <c>train.json</c> spells it (snake_case fields); command-line
/// flags override the file. The resolved record is written into the student's lineage.
/// </summary>
public sealed record LmTrainingConfig
{
    /// <summary>The dataset folder (data.jsonl + manifest.json).</summary>
    [JsonPropertyName("data")] public string Data { get; init; } = "";

    /// <summary>The output folder: checkpoints, metrics, and finally the student model folder itself.</summary>
    [JsonPropertyName("out")] public string Out { get; init; } = "";

    /// <summary>The training mode.</summary>
    [JsonPropertyName("mode")] public LmMode Mode { get; init; } = LmMode.Sft;

    /// <summary>An existing model to start the student from (any spec ModelLoader loads), or null for a new one.</summary>
    [JsonPropertyName("student")] public string? Student { get; init; }

    /// <summary>A LlamaConfig JSON file for a new student (vocab_size defaults to the tokenizer's).</summary>
    [JsonPropertyName("student_config")] public string? StudentConfig { get; init; }

    /// <summary>A named size for a new student (see <see cref="StudentPresets"/>), when no config file is given.</summary>
    [JsonPropertyName("student_preset")] public string StudentPreset { get; init; } = "tiny";

    /// <summary>The new student's tokenizer (file, folder or tiktoken:NAME); default: the teacher's.</summary>
    [JsonPropertyName("tokenizer")] public string? Tokenizer { get; init; }

    /// <summary>
    /// The student's chat template: "chatml", "plain", a Jinja file or a model folder; default: an existing student's own,
    /// else the template of the --tokenizer folder, else the teacher's, else ChatML.
    /// </summary>
    [JsonPropertyName("chat_template")] public string? ChatTemplate { get; init; }

    /// <summary>Extra chat template variables (e.g. <c>{"enable_thinking": false}</c>) for the student's and the local teacher's templates.</summary>
    [JsonPropertyName("chat_template_args")] public Dictionary<string, JsonNode?>? ChatTemplateArgs { get; init; }

    /// <summary>The teacher: a local one (white-box and on-policy), any spec ModelLoader loads; or, for on-policy, <c>openai:MODEL</c> behind an API that scores the student's samples.</summary>
    [JsonPropertyName("teacher")] public string? Teacher { get; init; }

    /// <summary>A terms-policy file to check every teacher of the dataset against (besides the manifest's recorded decisions).</summary>
    [JsonPropertyName("policy")] public string? Policy { get; init; }

    /// <summary>Optimiser steps.</summary>
    [JsonPropertyName("steps")] public int Steps { get; init; } = 200;

    /// <summary>Sequences per micro-batch.</summary>
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 8;

    /// <summary>Micro-batches per optimiser step.</summary>
    [JsonPropertyName("grad_accum")] public int GradAccum { get; init; } = 1;

    /// <summary>Peak learning rate.</summary>
    [JsonPropertyName("lr")] public double LearningRate { get; init; } = 1e-3;

    /// <summary>Final learning rate of the cosine decay.</summary>
    [JsonPropertyName("min_lr")] public double MinLearningRate { get; init; } = 1e-4;

    /// <summary>Linear warm-up steps.</summary>
    [JsonPropertyName("warmup")] public int Warmup { get; init; } = 10;

    /// <summary>AdamW weight decay (matrices only).</summary>
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; } = 0.01;

    /// <summary>Gradient-norm clip; 0 disables.</summary>
    [JsonPropertyName("clip")] public double Clip { get; init; } = 1.0;

    /// <summary>Longest training sequence, prompt included.</summary>
    [JsonPropertyName("seq_len")] public int SeqLen { get; init; } = 256;

    /// <summary>Softmax temperature of the KD term (white-box and on-policy).</summary>
    [JsonPropertyName("temperature")] public double Temperature { get; init; } = 1.0;

    /// <summary>Weight of the KD term against cross-entropy on the teacher's text (default 1; 0.5 for on-policy with an API teacher and across tokenizers).</summary>
    [JsonPropertyName("alpha")] public double? Alpha { get; init; }

    /// <summary>β of the generalised JSD.</summary>
    [JsonPropertyName("beta")] public double Beta { get; init; } = 0.5;

    /// <summary>λ: the probability of an on-policy (student-sampled) batch.</summary>
    [JsonPropertyName("lambda")] public double Lambda { get; init; } = 0.5;

    /// <summary>The divergence of white-box and on-policy runs; default forward-kl for white-box, jsd for on-policy.</summary>
    [JsonPropertyName("divergence")] public TokenDivergence? Divergence { get; init; }

    /// <summary>Top-k: what to do with the teacher's mass outside the stored alternatives.</summary>
    [JsonPropertyName("tail_policy")] public TopKTailPolicy TailPolicy { get; init; } = TopKTailPolicy.FoldTailIntoBucket;

    /// <summary>Top-k mode: use only each token's this many most likely stored alternatives (0: all that were stored).</summary>
    [JsonPropertyName("top_logprobs")] public int TopLogprobs { get; init; }

    /// <summary>
    /// Random-sampling KD with this many teacher tokens per position (Anshumann et al. 2025), instead of the top-k (top-k
    /// mode: the dataset's stored <c>sampled_logprobs</c>, from <c>generate --sampled-logprobs</c>) or the full distribution
    /// (white-box mode: drawn from the local teacher at each step); 0 is off.
    /// </summary>
    [JsonPropertyName("teacher_samples")] public int TeacherSamples { get; init; }

    /// <summary>
    /// The objective when the student's tokenizer differs from the teacher's: alm | topk-chunk-starts | alm-and-topk (top-k
    /// mode, default topk-chunk-starts) or topk-chunk-starts | uld | hybrid (white-box mode, default topk-chunk-starts). Null: the default, and the
    /// same-vocabulary path where the tokenizers are the same; set: the cross-tokenizer path even where they are.
    /// </summary>
    [JsonPropertyName("cross_tokenizer")] public CrossTokenizerMethod? CrossTokenizer { get; init; }

    /// <summary>
    /// Across tokenizers, where teacher alternatives at a chunk start count: prefix (default: on the student tokens their bytes
    /// begin; measured best in bench/results/cross-tokenizer.md), unambiguous-token, whole-token or first-token.
    /// </summary>
    [JsonPropertyName("chunk_start_match")] public AlternativeMatch ChunkStartMatch { get; init; } = AlternativeMatch.Prefix;

    /// <summary>Weight of last-layer hidden-state matching through a learned projection (white-box/on-policy); 0 is off.</summary>
    [JsonPropertyName("hidden_weight")] public double HiddenWeight { get; init; }

    /// <summary>How hidden states are compared.</summary>
    [JsonPropertyName("hidden_metric")] public HiddenStateMetric HiddenMetric { get; init; } = HiddenStateMetric.Mse;

    /// <summary>The most tokens the student samples per prompt on an on-policy batch.</summary>
    [JsonPropertyName("max_new_tokens")] public int MaxNewTokens { get; init; } = 64;

    /// <summary>The temperature the student samples its on-policy continuations at (0 is greedy); distinct from the KD <see cref="Temperature"/>.</summary>
    [JsonPropertyName("sample_temperature")] public double SampleTemperature { get; init; } = 1.0;

    /// <summary>The fraction of prompts held out for evaluation.</summary>
    [JsonPropertyName("eval_fraction")] public double EvalFraction { get; init; } = 0.1;

    /// <summary>Evaluate every this many steps (0: never).</summary>
    [JsonPropertyName("eval_every")] public int EvalEvery { get; init; } = 50;

    /// <summary>Stop after this many evaluations without improvement; null never.</summary>
    [JsonPropertyName("patience")] public int? Patience { get; init; }

    /// <summary>Checkpoint every this many steps (0: only at the end and on interruption).</summary>
    [JsonPropertyName("checkpoint_every")] public int CheckpointEvery { get; init; } = 100;

    /// <summary>Also write the student as a model folder every this many steps, under <c>snapshots/step-NNNNNNNN</c> (0: never).</summary>
    [JsonPropertyName("snapshot_every")] public int SnapshotEvery { get; init; }

    /// <summary>Seed of initialisation, shuffling, the split and on-policy sampling.</summary>
    [JsonPropertyName("seed")] public long Seed { get; init; } = 1;

    /// <summary>Where the student, a local teacher, the optimiser state and the batches live: auto | cpu | cuda | cuda:N (null: cpu); see <see cref="DeviceSpec"/>.</summary>
    [JsonPropertyName("device")] public string? Device { get; init; }

    /// <summary>Continue the run in <see cref="Out"/> from its latest checkpoint.</summary>
    [JsonPropertyName("resume")] public bool Resume { get; init; }

    /// <summary>Train low-rank adapters on the frozen --student instead of all its weights; null trains every weight.</summary>
    [JsonPropertyName("lora")] public LoraSettings? Lora { get; init; }

    /// <summary>Serialiser options: indented, snake_case enum names in kebab case ("forward-kl", "fold-tail-into-bucket").</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower, allowIntegerValues: false) },
    };

    /// <summary>Reads a train.json file; a bad field is a one-line <see cref="InputException"/> naming the file.</summary>
    public static async Task<LmTrainingConfig> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw InputException.InFile(path, "no such config file");
        try
        {
            return JsonSerializer.Deserialize<LmTrainingConfig>(await File.ReadAllTextAsync(path, cancellationToken), JsonOptions)
                   ?? throw InputException.InFile(path, "is empty; expected a JSON object such as {\"mode\":\"sft\",\"steps\":200}");
        }
        catch (JsonException e)
        {
            var where = e.Path is { Length: > 1 } p ? $"field '{p.TrimStart('$', '.')}'" : $"line {e.LineNumber + 1}";
            throw InputException.InFile(path, $"{where}: {ErrorText.FirstLine(e).Split(". Path")[0]}");
        }
    }

    /// <summary>Whether the teacher is behind an API (<c>openai:MODEL</c>): it scores on-policy samples, and the dataset's stored top-k logprobs stand in for it on the dataset's text.</summary>
    [JsonIgnore] public bool HasApiTeacher => Teacher is not null && ModelSpec.TryParse(Teacher)?.Kind == ModelKind.OpenAi;

    /// <summary>
    /// The KD weight α this mode uses when none is set (bench/results/kd-ablation.md): 1 (KD only) for top-k from five
    /// alternatives up (top-20 folded recovered 101% of white-box KD's gain at 100K teacher tokens at α 1, 83% at α 0.5);
    /// 0.5 for top-1 to top-4, where the folded target says little about the sampled token (top-1 at α 1 lost 0.058 bits
    /// per byte against SFT, at α 0.5 gained 0.064), for a renormalised tail, whose KL says nothing about the mass outside
    /// the top k (top-20 renormalised at α 1 lost 1.06 against SFT), and for on-policy with an API teacher, not measured.
    /// </summary>
    [JsonIgnore] public double ResolvedAlpha => Alpha ?? ((Mode != LmMode.Topk && HasApiTeacher)
        || (Mode == LmMode.Topk && (TailPolicy == TopKTailPolicy.Renormalize || TopLogprobs is > 0 and < 5)) ? 0.5 : 1.0);

    /// <summary>The divergence this mode uses when none is set (on-policy: jsd, or sampled-reverse-kl with an API teacher, the only one it allows).</summary>
    [JsonIgnore] public TokenDivergence ResolvedDivergence => Divergence ?? (Mode != LmMode.Onpolicy ? TokenDivergence.ForwardKl : HasApiTeacher ? TokenDivergence.SampledReverseKl : TokenDivergence.Jsd);

    /// <summary>Throws a one-line <see cref="InputException"/> naming the first bad setting (as its command-line flag).</summary>
    public LmTrainingConfig Validate()
    {
        if (string.IsNullOrWhiteSpace(Data)) throw InputException.InField("--data", "is required: the dataset folder to train on");
        if (string.IsNullOrWhiteSpace(Out)) throw InputException.InField("--out", "is required: the folder for checkpoints and the trained student");
        if (Mode is LmMode.Whitebox or LmMode.Onpolicy && string.IsNullOrWhiteSpace(Teacher))
            throw InputException.InField("--teacher", $"mode {Mode.Name()} needs a local teacher (e.g. llama2c:PATH or checkpoint:DIR){(Mode == LmMode.Onpolicy ? " or an API teacher (openai:MODEL)" : "")}; or use --mode sft");
        if (HasApiTeacher) CheckApiTeacher();
        if (Student is not null && StudentConfig is not null) throw InputException.InField("--student-config", "give either --student (an existing model) or --student-config (a new one), not both");
        DeviceSpec.Parse(Device);
        if (Steps < 1) throw InputException.InField("--steps", "must be at least 1");
        if (BatchSize < 1) throw InputException.InField("--batch-size", "must be at least 1");
        if (GradAccum < 1) throw InputException.InField("--grad-accum", "must be at least 1");
        if (!(LearningRate > 0)) throw InputException.InField("--lr", "must be positive");
        if (MinLearningRate < 0 || MinLearningRate > LearningRate) throw InputException.InField("min_lr", "must lie between 0 and --lr");
        if (Warmup < 0) throw InputException.InField("--warmup", "must not be negative");
        if (SeqLen < 2) throw InputException.InField("--seq-len", "must be at least 2");
        if (!(Temperature > 0) || double.IsInfinity(Temperature)) throw InputException.InField("--temperature", "must be positive");
        if (Mode == LmMode.Topk && Temperature != 1.0) throw InputException.InField("--temperature", "top-k logprobs are at temperature 1; leave it at 1 for --mode topk");
        if (Alpha is { } a && !(a is >= 0 and <= 1)) throw InputException.InField("--alpha", "must lie in [0, 1]");
        if (!(Beta is >= 0 and <= 1)) throw InputException.InField("--beta", "must lie in [0, 1]");
        if (!(Lambda is >= 0 and <= 1)) throw InputException.InField("--lambda", "must lie in [0, 1]");
        if (CrossTokenizer is { } method)
        {
            if (Mode == LmMode.Sft || (Mode == LmMode.Onpolicy && !HasApiTeacher))
                throw InputException.InField("--cross-tokenizer", $"applies to --mode topk and whitebox, and to onpolicy with an API teacher (on the dataset's text), not {Mode.Name()}{(Mode == LmMode.Onpolicy ? " with a local teacher" : "")}");
            if (Mode is LmMode.Topk or LmMode.Onpolicy && method.NeedsFullLogits())
                throw InputException.InField("--cross-tokenizer", $"uld and hybrid need a local teacher's full logits: use --mode whitebox, or alm | topk-chunk-starts | alm-and-topk with --mode {Mode.Name()}");
            if (Mode == LmMode.Whitebox && method.UsesAlm())
                throw InputException.InField("--cross-tokenizer", "--mode whitebox takes uld, hybrid or topk-chunk-starts; alm and alm-and-topk work from a dataset's stored logprobs with --mode topk");
            if (HiddenWeight > 0) throw InputException.InField("hidden_weight", "hidden-state matching needs a shared tokenizer; leave it at 0 with --cross-tokenizer");
        }
        if (TopLogprobs is < 0 or > Core.Chat.SamplingParameters.MaxTopLogprobs)
            throw InputException.InField("--top-logprobs", $"must lie between 0 (all stored) and {Core.Chat.SamplingParameters.MaxTopLogprobs}");
        if (TopLogprobs > 0 && (Mode != LmMode.Topk || TeacherSamples > 0))
            throw InputException.InField("--top-logprobs", "applies to --mode topk without --teacher-samples");
        if (TeacherSamples is < 0 or > Core.Chat.SamplingParameters.MaxSampledLogprobs)
            throw InputException.InField("--teacher-samples", $"must lie between 0 (off) and {Core.Chat.SamplingParameters.MaxSampledLogprobs}");
        if (TeacherSamples > 0 && Mode is not (LmMode.Topk or LmMode.Whitebox))
            throw InputException.InField("--teacher-samples", $"applies to --mode topk (stored samples) and whitebox (drawn from the teacher), not {Mode.Name()}");
        if (TeacherSamples > 0 && CrossTokenizer is not null) throw InputException.InField("--teacher-samples", "needs a shared tokenizer; leave it at 0 with --cross-tokenizer");
        if (TeacherSamples > 0 && Mode == LmMode.Whitebox && (Temperature != 1.0 || ResolvedDivergence != TokenDivergence.ForwardKl))
            throw InputException.InField("--teacher-samples", "estimates forward KL at temperature 1; leave --temperature at 1 and --divergence at forward-kl");
        if (HiddenWeight < 0) throw InputException.InField("hidden_weight", "must not be negative");
        if (MaxNewTokens < 1) throw InputException.InField("--max-new-tokens", "must be at least 1");
        if (!(SampleTemperature is >= 0 and <= SamplingParameters.MaxTemperature))
            throw InputException.InField("--sample-temperature", $"must lie between 0 (greedy) and {SamplingParameters.MaxTemperature}");
        if (Divergence == TokenDivergence.SampledReverseKl && Mode != LmMode.Onpolicy)
            throw InputException.InField("--divergence", "sampled-reverse-kl needs the student's own samples: use it with --mode onpolicy, or reverse-kl for the dense one");
        if (Divergence == TokenDivergence.SampledReverseKl && Temperature != 1.0)
            throw InputException.InField("--temperature", "sampled-reverse-kl scores the sampled tokens at temperature 1; leave --temperature at 1 (--sample-temperature sets how the student samples)");
        if (!(EvalFraction is >= 0 and < 1)) throw InputException.InField("eval_fraction", "must lie in [0, 1)");
        if (EvalEvery < 0) throw InputException.InField("--eval-every", "must not be negative");
        if (CheckpointEvery < 0) throw InputException.InField("--checkpoint-every", "must not be negative");
        if (SnapshotEvery < 0) throw InputException.InField("--snapshot-every", "must not be negative");
        if (SnapshotEvery > 0 && Lora is not null) throw InputException.InField("--snapshot-every", "writes whole students; it does not apply to LoRA training");
        if (Patience is < 1) throw InputException.InField("patience", "must be at least 1");
        if (Lora is not null)
        {
            Lora.Validate();
            if (Student is null) throw InputException.InField("--lora-rank", "LoRA adapts an existing model: give it with --student SPEC (a new student trains fully)");
        }
        if (ChatTemplate is not null && Models.Tokenizers.ChatTemplate.BuiltIn(ChatTemplate) is null && !File.Exists(ChatTemplate) && !Directory.Exists(ChatTemplate))
            throw InputException.InField("chat_template", $"'{ChatTemplate}' is not a template; use {Models.Tokenizers.ChatTemplate.BuiltInNames}, a Jinja file or a model folder");
        return this;
    }

    /// <summary>An API teacher scores on-policy samples only, one logprob per sampled token: the sampled reverse KL is all it allows.</summary>
    private void CheckApiTeacher()
    {
        if (Mode != LmMode.Onpolicy)
            throw InputException.InField("--teacher", $"an API teacher ({Teacher}) serves --mode onpolicy (it scores the student's samples); --mode {Mode.Name()} needs a local teacher's full distributions or none");
        if (ResolvedDivergence != TokenDivergence.SampledReverseKl)
            throw InputException.InField("--divergence", $"an API teacher returns only the logprob of each sampled token, so on-policy training with {Teacher} takes sampled-reverse-kl, not {JsonSerializer.Serialize(ResolvedDivergence, JsonOptions).Trim('"')}");
        if (HiddenWeight > 0) throw InputException.InField("hidden_weight", $"an API teacher ({Teacher}) has no hidden states; leave it at 0");
    }
}
