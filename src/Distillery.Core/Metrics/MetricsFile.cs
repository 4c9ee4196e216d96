using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Distillery.Core.Metrics;

/// <summary>A training run's <c>metrics.jsonl</c>: one <see cref="MetricsRecord"/> a line, written by training and read by reports and plots.</summary>
public static class MetricsFile
{
    /// <summary>The file's name in a run or model folder.</summary>
    public const string Name = "metrics.jsonl";

    /// <summary>The file's path in a folder.</summary>
    public static string PathIn(string directory) => Path.Combine(directory, Name);

    /// <summary>The lines of a metrics file, in order, up to the first that cannot be read (a line cut short by a kill ends the usable log); none where it is absent.</summary>
    public static IReadOnlyList<MetricsRecord> Read(string path)
    {
        var records = new List<MetricsRecord>();
        if (!File.Exists(path)) return records;
        foreach (var line in File.ReadLines(path).Where(l => !string.IsNullOrWhiteSpace(l)))
        {
            MetricsRecord? record;
            try { record = JsonSerializer.Deserialize<MetricsRecord>(line); }
            catch (JsonException) { break; }
            if (record is null) break;
            records.Add(record);
        }
        return records;
    }
}
