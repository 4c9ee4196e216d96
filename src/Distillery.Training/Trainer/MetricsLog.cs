using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Distillery.Core.Metrics;

namespace Distillery.Training.Trainer;

/// <summary>metrics.jsonl: appended line by line during a run; on resume cut back to the checkpoint's step.</summary>
public sealed class MetricsLog
{
    private readonly List<MetricsRecord> records = [];

    /// <summary>Opens (creating if needed) the log in <paramref name="outputDirectory"/>, keeping only lines up to <paramref name="keepThroughStep"/>.</summary>
    public MetricsLog(string outputDirectory, int keepThroughStep)
    {
        Path = MetricsFile.PathIn(outputDirectory);
        records.AddRange(MetricsFile.Read(Path).TakeWhile(r => r.Step <= keepThroughStep));
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
