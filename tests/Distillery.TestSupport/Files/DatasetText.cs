using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Distillery.Core.Datasets;

namespace Distillery.TestSupport.Files;

/// <summary>A dataset's rows as JSON text with their logprobs inline, read through the reader: two runs compare equal whatever order their sidecar blocks were written in.</summary>
public static class DatasetText
{
    /// <summary>One JSON line per row, in file order; <paramref name="withoutTimestamps"/> drops the time each was answered.</summary>
    public static async Task<List<string>> RowsAsync(string dataset, bool withoutTimestamps = false) =>
        (await DatasetReader.ReadAllRowsAsync(dataset)).Select(r =>
        {
            var row = JsonSerializer.SerializeToNode(r with { Distillery = r.Distillery! with { Logprobs = null } }, DatasetJson.Compact)!;
            if (withoutTimestamps) row["distillery"]!.AsObject().Remove("timestamp");
            return row.ToJsonString();
        }).ToList();
}
