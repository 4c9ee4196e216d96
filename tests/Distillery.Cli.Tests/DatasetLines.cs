using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;

namespace Distillery.Cli.Tests;

/// <summary>Reads a labeled dataset's <c>data.jsonl</c> as lines, even while a child process is still writing it.</summary>
public static class DatasetLines
{
    /// <summary>The number of complete lines in a file another process may hold open.</summary>
    public static int Count(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var count = 0;
        int b;
        while ((b = stream.ReadByte()) >= 0) if (b == '\n') count++;
        return count;
    }

    /// <summary>A dataset's rows as JSON text without the time each was answered, so two runs can be compared.</summary>
    public static List<string> WithoutTimestamps(string dataset) =>
        File.ReadAllLines(Path.Combine(dataset, "data.jsonl")).Select(line =>
        {
            var row = JsonNode.Parse(line)!;
            row["distillery"]!.AsObject().Remove("timestamp");
            return row.ToJsonString();
        }).ToList();
}
