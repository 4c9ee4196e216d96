using System.Text.Json.Serialization;

namespace Distillery.Core.Metrics;

/// <summary>One line of metrics.jsonl: a training step (loss, lr, …) or an evaluation (eval_loss).</summary>
public sealed record MetricsRecord
{
    /// <summary>Optimiser step the line belongs to.</summary>
    [JsonPropertyName("step")] public int Step { get; init; }

    /// <summary>Training loss of the step.</summary>
    [JsonPropertyName("loss")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? Loss { get; init; }

    /// <summary>Learning rate of the step.</summary>
    [JsonPropertyName("lr")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? LearningRate { get; init; }

    /// <summary>Global gradient norm before clipping.</summary>
    [JsonPropertyName("grad_norm")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? GradNorm { get; init; }

    /// <summary>Unmasked positions in the step's accumulated batch.</summary>
    [JsonPropertyName("positions")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Positions { get; init; }

    /// <summary>Tokens the teacher wrote or scored in the step's batches: the dataset's completion tokens, or the student's samples the teacher scored on on-policy batches.</summary>
    [JsonPropertyName("teacher_tokens")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? TeacherTokens { get; init; }

    /// <summary>Epoch, fractional, at the end of the step.</summary>
    [JsonPropertyName("epoch")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? Epoch { get; init; }

    /// <summary>Held-out loss, on evaluation lines.</summary>
    [JsonPropertyName("eval_loss")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? EvalLoss { get; init; }

    /// <summary>Seconds of wall time this process had trained when the line was written.</summary>
    [JsonPropertyName("elapsed_s")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? ElapsedSeconds { get; init; }
}
