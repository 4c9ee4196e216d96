using System.Collections.Generic;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Distillery.Core.Provenance;

/// <summary>
/// A model's lineage, the contents of its <c>distillery.json</c> (<see cref="LineageFile"/>): how it was trained, from
/// which datasets, and which teacher supplied what share of its training tokens. Written by training, read by the audit.
/// </summary>
public sealed record Lineage
{
    /// <summary>The format tag written today.</summary>
    public const string CurrentFormat = "distillery-lineage/1";

    /// <summary>The format tag (<see cref="CurrentFormat"/>).</summary>
    [JsonPropertyName("format")] public string? Format { get; init; } = CurrentFormat;

    /// <summary>When training finished (ISO 8601, UTC).</summary>
    [JsonPropertyName("created")] public string? Created { get; init; }

    /// <summary>What kind of training made the model (e.g. "language-model distillation").</summary>
    [JsonPropertyName("kind")] public string? Kind { get; init; }

    /// <summary>The training mode (sft, topk, whitebox, onpolicy).</summary>
    [JsonPropertyName("mode")] public string? Mode { get; init; }

    /// <summary>The training configuration as it ran.</summary>
    [JsonPropertyName("config")] public JsonObject? Config { get; init; }

    /// <summary>The student: where it started, its size and its tokenizer.</summary>
    [JsonPropertyName("student")] public LineageStudent? Student { get; init; }

    /// <summary>The chat template the training prompts were rendered with, and its extra variables.</summary>
    [JsonPropertyName("chat_template")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LineageChatTemplate? ChatTemplate { get; init; }

    /// <summary>The datasets it was trained on; the audit reads them back.</summary>
    [JsonPropertyName("datasets")] public IReadOnlyList<LineageDataset> Datasets { get; init; } = [];

    /// <summary>Each teacher's share of the training tokens.</summary>
    [JsonPropertyName("teachers")] public IReadOnlyList<LineageTeacher> Teachers { get; init; } = [];

    /// <summary>The loss, in words.</summary>
    [JsonPropertyName("losses")] public string? Losses { get; init; }

    /// <summary>Optimiser steps taken.</summary>
    [JsonPropertyName("steps")] public long Steps { get; init; }

    /// <summary>Completion tokens trained on, over all teachers.</summary>
    [JsonPropertyName("training_tokens")] public long TrainingTokens { get; init; }

    /// <summary>Training and held-out measures at the end.</summary>
    [JsonPropertyName("metrics")] public LineageMetrics? Metrics { get; init; }

    /// <summary>A local teacher that scored or tokenized during training, where there was one.</summary>
    [JsonPropertyName("local_teacher")] public LineageLocalTeacher? LocalTeacher { get; init; }

    /// <summary>A teacher behind an API that scored the student's on-policy samples, where one did.</summary>
    [JsonPropertyName("on_policy_scoring")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LineageOnPolicyScoring? OnPolicyScoring { get; init; }

    /// <summary>How the teacher's signal crossed from its tokenizer to the student's, where they differ.</summary>
    [JsonPropertyName("cross_tokenizer")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LineageCrossTokenizer? CrossTokenizer { get; init; }

    /// <summary>The low-rank adapters that were trained instead of the whole student, where the run used LoRA.</summary>
    [JsonPropertyName("lora")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LineageLora? Lora { get; init; }
}

/// <summary>A LoRA run in a <see cref="Lineage"/>: the adapters' shape and the base they belong to.</summary>
/// <param name="Rank">The rank r.</param>
/// <param name="Alpha">alpha; the update is scaled by alpha / r.</param>
/// <param name="Targets">The adapted linears' short names (q, k, v, o, gate, up, down, lm_head).</param>
/// <param name="TrainableParameters">Parameters in the adapters (all that was trained).</param>
/// <param name="BaseModel">The base model's spec.</param>
/// <param name="BaseModelSha256">SHA-256 of the base model's weights as loaded.</param>
public sealed record LineageLora(
    [property: JsonPropertyName("rank")] int Rank,
    [property: JsonPropertyName("alpha")] double Alpha,
    [property: JsonPropertyName("targets")] IReadOnlyList<string> Targets,
    [property: JsonPropertyName("trainable_parameters")] long TrainableParameters,
    [property: JsonPropertyName("base_model")] string BaseModel,
    [property: JsonPropertyName("base_model_sha256")] string BaseModelSha256);

/// <summary>An API teacher's scoring of on-policy samples in a <see cref="Lineage"/>; its requests, tokens and cost are in the ledger.</summary>
/// <param name="Teacher">The teacher as <c>provider:model</c>.</param>
/// <param name="Endpoint">The endpoint its scoring requests went to (the <c>/completions</c> URL), as the ledger records them.</param>
/// <param name="Ledger">The ledger those requests went through (a file's full path, or a database URL without its password).</param>
/// <param name="Sequences">Samples scored by the run's last process.</param>
/// <param name="OneToOneTokens">Of their tokens, those that were one teacher token each.</param>
/// <param name="ChunkedTokens">Of their tokens, those scored only together with their neighbours (the teacher tokenised that stretch otherwise).</param>
public sealed record LineageOnPolicyScoring(
    [property: JsonPropertyName("teacher")] string Teacher,
    [property: JsonPropertyName("endpoint")] string Endpoint,
    [property: JsonPropertyName("ledger")] string Ledger,
    [property: JsonPropertyName("sequences")] long Sequences,
    [property: JsonPropertyName("one_to_one_tokens")] long OneToOneTokens,
    [property: JsonPropertyName("chunked_tokens")] long ChunkedTokens);

/// <summary>A cross-tokenizer run in a <see cref="Lineage"/>: the method and how much of the teacher's data reached the loss.</summary>
/// <param name="Method">The objective (alm, topk-chunk-starts, alm-and-topk, uld, hybrid).</param>
/// <param name="TeacherTokenizer">The teacher's tokenizer, or "stored tokens" where only the dataset's token bytes were used.</param>
/// <param name="Chunks">Aligned chunks in the training rows that reached the loss.</param>
/// <param name="OneToOneShare">The share of those chunks that are one token on each side.</param>
/// <param name="TeacherTokenShare">The share of the teacher's completion tokens whose data reached the loss.</param>
/// <param name="TopKMassShare">The share of the stored top-k probability mass at chunk starts that reached the loss; null without top-k data.</param>
public sealed record LineageCrossTokenizer(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("teacher_tokenizer")] string? TeacherTokenizer,
    [property: JsonPropertyName("chunks")] long Chunks,
    [property: JsonPropertyName("one_to_one_share")] double OneToOneShare,
    [property: JsonPropertyName("teacher_token_share")] double TeacherTokenShare,
    [property: JsonPropertyName("top_k_mass_share")] double? TopKMassShare);

/// <summary>The chat template in a <see cref="Lineage"/>.</summary>
/// <param name="Name">A built-in's name (chatml, plain) or the file it was read from.</param>
/// <param name="Sha256">SHA-256 of the Jinja source.</param>
/// <param name="Arguments">The extra template variables (<c>--chat-template-arg</c>), such as <c>enable_thinking</c>.</param>
public sealed record LineageChatTemplate(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("arguments")] IReadOnlyDictionary<string, JsonNode?> Arguments);

/// <summary>The student in a <see cref="Lineage"/>.</summary>
/// <param name="Init">The spec it started from (or the architecture it was built with).</param>
/// <param name="Parameters">Its parameter count.</param>
/// <param name="Tokenizer">Its tokenizer's name.</param>
public sealed record LineageStudent(
    [property: JsonPropertyName("init")] string? Init,
    [property: JsonPropertyName("parameters")] long Parameters,
    [property: JsonPropertyName("tokenizer")] string? Tokenizer);

/// <summary>A dataset in a <see cref="Lineage"/>; in the file, a path string alone is accepted too.</summary>
[JsonConverter(typeof(LineageDatasetConverter))]
public sealed record LineageDataset
{
    /// <summary>The dataset folder, absolute or relative to the model folder.</summary>
    [JsonPropertyName("path")] public required string Path { get; init; }

    /// <summary>SHA-256 of manifest.json when trained.</summary>
    [JsonPropertyName("manifest_sha256")] public string? ManifestSha256 { get; init; }

    /// <summary>SHA-256 of data.jsonl when trained.</summary>
    [JsonPropertyName("data_sha256")] public string? DataSha256 { get; init; }

    /// <summary>Rows read.</summary>
    [JsonPropertyName("rows")] public long? Rows { get; init; }

    /// <summary>Rows that could not be used.</summary>
    [JsonPropertyName("rows_skipped")] public long? RowsSkipped { get; init; }

    /// <summary>Rows trained on.</summary>
    [JsonPropertyName("train_rows")] public long? TrainRows { get; init; }

    /// <summary>Rows held out.</summary>
    [JsonPropertyName("eval_rows")] public long? EvalRows { get; init; }

    /// <summary>SHA-256 of the prompts file the dataset was generated from.</summary>
    [JsonPropertyName("prompts_sha256")] public string? PromptsSha256 { get; init; }
}

/// <summary>One teacher's contribution in a <see cref="Lineage"/>.</summary>
/// <param name="Provider">The provider ("openai", "llama2c", …, or "none" for rows without a teacher).</param>
/// <param name="Model">The model asked for.</param>
/// <param name="ModelsReported">The model names the provider reported.</param>
/// <param name="Endpoint">Where it was reached.</param>
/// <param name="Rows">Dataset rows it produced.</param>
/// <param name="TrainingTokens">Its completion tokens trained on.</param>
/// <param name="Share">Its share of all training tokens.</param>
public sealed record LineageTeacher(
    [property: JsonPropertyName("provider")] string Provider,
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("models_reported")] IReadOnlyList<string> ModelsReported,
    [property: JsonPropertyName("endpoint")] string? Endpoint,
    [property: JsonPropertyName("rows")] long Rows,
    [property: JsonPropertyName("training_tokens")] long TrainingTokens,
    [property: JsonPropertyName("share")] double Share);

/// <summary>Measures at the end of training in a <see cref="Lineage"/>.</summary>
/// <param name="FinalTrainLoss">The last training loss.</param>
/// <param name="BestEvalLoss">The best held-out loss.</param>
/// <param name="BestEvalStep">The step of the best held-out loss.</param>
/// <param name="EvalCrossEntropy">Held-out cross-entropy (nats per token).</param>
/// <param name="EvalKlToTeacher">Held-out KL to a local teacher (nats per token).</param>
/// <param name="StoppedEarly">Whether early stopping ended training.</param>
public sealed record LineageMetrics(
    [property: JsonPropertyName("final_train_loss")] double? FinalTrainLoss,
    [property: JsonPropertyName("best_eval_loss")] double? BestEvalLoss,
    [property: JsonPropertyName("best_eval_step")] long? BestEvalStep,
    [property: JsonPropertyName("eval_cross_entropy")] double? EvalCrossEntropy,
    [property: JsonPropertyName("eval_kl_to_teacher")] double? EvalKlToTeacher,
    [property: JsonPropertyName("stopped_early")] bool StoppedEarly);

/// <summary>A local teacher in a <see cref="Lineage"/>.</summary>
/// <param name="Spec">Its model spec.</param>
/// <param name="Parameters">Its parameter count.</param>
/// <param name="Role">What it did ("white-box scorer" or "tokenizer only").</param>
public sealed record LineageLocalTeacher(
    [property: JsonPropertyName("spec")] string Spec,
    [property: JsonPropertyName("parameters")] long Parameters,
    [property: JsonPropertyName("role")] string Role);
