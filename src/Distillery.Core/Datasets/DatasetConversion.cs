using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Datasets.Sidecar;
using Distillery.Core.Errors;

namespace Distillery.Core.Datasets;

/// <summary>What converting a dataset did: rows, how many had their logprobs inline, and the folder's data bytes before and after.</summary>
public sealed record ConversionResult(int Rows, int InlineRows, long BytesBefore, long BytesAfter);

/// <summary>Moves the inline token logprobs of an old dataset (written before the sidecar) into the compact sidecar.</summary>
public static class DatasetConversion
{
    /// <summary>Rewrites a dataset folder with every row's logprobs in the sidecar; a folder already compact is left as it is.</summary>
    public static async Task<ConversionResult> ConvertAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!DatasetFolder.IsDataset(directory)) throw InputException.InFile(DatasetFolder.DataPath(directory), "no such file; is this a dataset folder made by 'distill generate'?");
        var before = DataBytes(directory);
        var rows = await DatasetReader.ReadAllRowsAsync(directory, cancellationToken);
        var inline = rows.Count(r => r.Distillery is { Logprobs: null, Tokens.Count: > 0 });
        if (inline == 0) return new ConversionResult(rows.Count, 0, before, before);
        await using (var writer = await DatasetWriter.OpenAsync(directory, cancellationToken)) await writer.RewriteAsync(rows, cancellationToken);
        return new ConversionResult(rows.Count, inline, before, DataBytes(directory));
    }

    /// <summary>The bytes of a folder's rows and sidecar.</summary>
    public static long DataBytes(string directory) =>
        new[] { DatasetFolder.DataPath(directory), LogprobSidecar.TokensPath(directory), LogprobSidecar.LogprobsPath(directory) }
            .Where(File.Exists).Sum(f => new FileInfo(f).Length);
}
