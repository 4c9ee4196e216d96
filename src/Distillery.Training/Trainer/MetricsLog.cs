using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distillery.Training.Trainer;

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

    /// <summary>Epoch, fractional, at the end of the step.</summary>
    [JsonPropertyName("epoch")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? Epoch { get; init; }

    /// <summary>Held-out loss, on evaluation lines.</summary>
    [JsonPropertyName("eval_loss")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? EvalLoss { get; init; }

    /// <summary>Seconds of wall time this process had trained when the line was written.</summary>
    [JsonPropertyName("elapsed_s")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? ElapsedSeconds { get; init; }
}

/// <summary>metrics.jsonl: appended line by line during a run; on resume cut back to the checkpoint's step.</summary>
public sealed class MetricsLog
{
    private readonly List<MetricsRecord> records = [];

    /// <summary>Opens (creating if needed) the log in <paramref name="outputDirectory"/>, keeping only lines up to <paramref name="keepThroughStep"/>.</summary>
    public MetricsLog(string outputDirectory, int keepThroughStep)
    {
        Path = System.IO.Path.Combine(outputDirectory, "metrics.jsonl");
        if (File.Exists(Path))
        {
            foreach (var line in File.ReadLines(Path).Where(l => l.Length > 0))
            {
                MetricsRecord? record;
                try { record = JsonSerializer.Deserialize<MetricsRecord>(line); }
                catch (JsonException) { break; } // a line cut short by a kill ends the usable log
                if (record is null || record.Step > keepThroughStep) break;
                records.Add(record);
            }
        }
        // Lines past the checkpoint belong to steps the resumed run will redo: drop them so the file tells one run.
        var temp = Path + ".tmp";
        File.WriteAllLines(temp, records.Select(r => JsonSerializer.Serialize(r)));
        File.Move(temp, Path, overwrite: true);
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>Every line so far, in order.</summary>
    public IReadOnlyList<MetricsRecord> Records => records;

    /// <summary>Appends one line and flushes it to disk.</summary>
    public void Append(MetricsRecord record)
    {
        records.Add(record);
        File.AppendAllText(Path, JsonSerializer.Serialize(record) + "\n");
    }
}
