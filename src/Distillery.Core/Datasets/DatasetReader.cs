using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Datasets.Sidecar;
using Distillery.Core.Errors;

namespace Distillery.Core.Datasets;

/// <summary>Reads a dataset folder: its rows from <c>data.jsonl</c> (streamed) and its <c>manifest.json</c>.</summary>
public static class DatasetReader
{
    /// <summary>Streams the rows of <c>data.jsonl</c> in file order; a line that is not a row is an <see cref="InputException"/> at <c>file:line</c>.</summary>
    /// <remarks>A last line without its newline (a write torn by a crash) is skipped; <see cref="DatasetWriter"/> repairs it.</remarks>
    public static async IAsyncEnumerable<DatasetRow> ReadRowsAsync(string directory, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var path = DatasetFolder.DataPath(directory);
        if (!File.Exists(path)) throw InputException.InFile(path, "no such file; is this a dataset folder made by 'distill generate'?");
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, useAsync: true);
        using var reader = new StreamReader(stream);
        var complete = EndsWithNewline(stream);
        LogprobSidecarReader? sidecar = null;
        try
        {
            var number = 0;
            string? line;
            string? pending = null;
            while ((line = await reader.ReadLineAsync(cancellationToken)) is not null)
            {
                if (pending is not null) yield return WithLogprobs(ParseRow(path, number, pending), directory, ref sidecar, path, number);
                number++;
                pending = string.IsNullOrWhiteSpace(line) ? null : line;
            }
            if (pending is not null && complete) yield return WithLogprobs(ParseRow(path, number, pending), directory, ref sidecar, path, number);
        }
        finally
        {
            sidecar?.Dispose();
        }
    }

    /// <summary>A row whose tokens lie in the sidecar, with them read in (the sidecar opened at the first such row).</summary>
    private static DatasetRow WithLogprobs(DatasetRow row, string directory, ref LogprobSidecarReader? sidecar, string path, int line)
    {
        if (row.Distillery is not { Logprobs: { } reference } provenance) return row;
        sidecar ??= LogprobSidecarReader.Open(directory);
        return row with { Distillery = provenance with { Tokens = sidecar.Read(reference, path, line) } };
    }

    /// <summary>Reads every row into a list.</summary>
    public static async Task<IReadOnlyList<DatasetRow>> ReadAllRowsAsync(string directory, CancellationToken cancellationToken = default)
    {
        var rows = new List<DatasetRow>();
        await foreach (var row in ReadRowsAsync(directory, cancellationToken)) rows.Add(row);
        return rows;
    }

    /// <summary>Reads <c>manifest.json</c>, or null when the folder has none yet.</summary>
    public static async Task<DatasetManifest?> ReadManifestAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var path = DatasetFolder.ManifestPath(directory);
        if (!File.Exists(path)) return null;
        await using var stream = File.OpenRead(path);
        try
        {
            return await JsonSerializer.DeserializeAsync<DatasetManifest>(stream, DatasetJson.Compact, cancellationToken);
        }
        catch (JsonException e)
        {
            throw InputException.InFile(path, $"not a dataset manifest ({ErrorText.FirstLine(e)})");
        }
    }

    /// <summary>Parses one row line; throws <see cref="InputException"/> at <c>file:line</c> when it is not one.</summary>
    public static DatasetRow ParseRow(string file, int line, string text)
    {
        try
        {
            var row = JsonSerializer.Deserialize<DatasetRow>(text, DatasetJson.Compact);
            if (row?.Messages is null || row.Messages.Count == 0) throw InputException.AtLine(file, line, "a row needs a non-empty \"messages\" array");
            // List elements are not covered by nullable annotations: a null message or token is checked here.
            if (row.Messages.Any(m => m is null) || row.Distillery?.Tokens.Any(t => t?.Bytes is null || t.TopLogprobs is null || t.Bytes.Any(b => b is < 0 or > 255) || t.TopLogprobs.Any(a => a?.Bytes is null) || t.SampledLogprobs?.Any(a => a?.Bytes is null) == true) == true)
                throw InputException.AtLine(file, line, "has a null message or token, a token without bytes or top_logprobs, or a byte outside 0–255; was the file edited by hand?");
            return row;
        }
        catch (JsonException e)
        {
            throw InputException.AtLine(file, line, $"not a dataset row ({ErrorText.FirstLine(e)}); was the file edited by hand?");
        }
    }

    private static bool EndsWithNewline(FileStream stream)
    {
        if (stream.Length == 0) return true;
        var position = stream.Position;
        stream.Seek(-1, SeekOrigin.End);
        var last = stream.ReadByte();
        stream.Seek(position, SeekOrigin.Begin);
        return last == '\n';
    }
}
