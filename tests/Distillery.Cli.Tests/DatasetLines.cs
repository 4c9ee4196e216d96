using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Distillery.Core.Datasets;

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

    /// <summary>A dataset's rows as JSON text, their logprobs read from the sidecar and inline, without the time each was answered, so two runs can be compared.</summary>
    public static async Task<List<string>> WithoutTimestampsAsync(string dataset) =>
        (await DatasetReader.ReadAllRowsAsync(dataset)).Select(r =>
        {
            var row = JsonSerializer.SerializeToNode(r with { Distillery = r.Distillery! with { Logprobs = null } }, DatasetJson.Compact)!;
            row["distillery"]!.AsObject().Remove("timestamp");
            return row.ToJsonString();
        }).ToList();
}
