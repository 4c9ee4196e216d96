using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Datasets.Sidecar;

namespace Distillery.Core.Datasets;

/// <summary>
/// Appends rows to a dataset folder's <c>data.jsonl</c> as they complete, each flushed on its own line, with their token
/// logprobs in the compact sidecar (<see cref="LogprobSidecar"/>, written first), and writes <c>manifest.json</c>.
/// </summary>
/// <remarks>
/// Opening a folder whose last line was torn by a crash cuts the file back to its last complete line, and the sidecar back
/// to the blocks its rows refer to. Safe for concurrent callers.
/// </remarks>
public sealed class DatasetWriter : IAsyncDisposable
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly LogprobSidecarWriter sidecar;
    private FileStream stream;
    private long appended;

    private DatasetWriter(string directory, FileStream stream, LogprobSidecarWriter sidecar, long tornBytesRemoved)
    {
        Directory = directory;
        this.stream = stream;
        this.sidecar = sidecar;
        TornBytesRemoved = tornBytesRemoved;
    }

    /// <summary>The dataset folder.</summary>
    public string Directory { get; }

    /// <summary>How many bytes of a torn last line were cut when the folder was opened (0 when the file was whole).</summary>
    public long TornBytesRemoved { get; }

    /// <summary>Opens (creating if needed) a dataset folder for appending, repairing a torn last line first.</summary>
    public static async Task<DatasetWriter> OpenAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        System.IO.Directory.CreateDirectory(directory);
        var path = DatasetFolder.DataPath(directory);
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
        try
        {
            var removed = await RepairTornTailAsync(stream, cancellationToken);
            stream.Seek(0, SeekOrigin.End);
            var sidecar = LogprobSidecarWriter.Open(LogprobSidecar.TokensPath(directory), LogprobSidecar.LogprobsPath(directory), ReferencedEnd(path));
            return new DatasetWriter(directory, stream, sidecar, removed);
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    /// <summary>Appends one row as one line and flushes it to the operating system, so a killed process keeps it; returns the line's position among those appended since the writer was opened or last rewrote the file (0 for the first).</summary>
    public async Task<long> AppendAsync(DatasetRow row, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(row);
        await gate.WaitAsync(cancellationToken);
        try
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(Compact(row), DatasetJson.Compact);
            // One write per line: a crash tears at most this line, which the next open cuts away. A short local write
            // is cheaper done synchronously than through the thread pool.
            stream.Write(bytes);
            stream.WriteByte((byte)'\n');
            stream.Flush();
            return appended++;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Replaces <c>data.jsonl</c> with the given rows, their tokens appended to the sidecar (blocks of the replaced rows stay
    /// in it, unreferenced); the swap is atomic.
    /// </summary>
    public Task RewriteAsync(IEnumerable<DatasetRow> rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return SwapAsync(output =>
        {
            foreach (var row in rows)
            {
                cancellationToken.ThrowIfCancellationRequested();
                output.Write(JsonSerializer.SerializeToUtf8Bytes(Compact(row), DatasetJson.Compact));
                output.WriteByte((byte)'\n');
            }
            return true;
        }, cancellationToken);
    }

    /// <summary>The row as <c>data.jsonl</c> holds it: its tokens written to the sidecar and replaced by where they lie (a row read with a reference refers to its tokens as they are now, none included).</summary>
    private DatasetRow Compact(DatasetRow row) => row.Distillery switch
    {
        { Tokens.Count: > 0 } provenance => row with { Distillery = provenance with { Tokens = [], Logprobs = sidecar.Append(provenance.Tokens) } },
        { Logprobs: not null } provenance => row with { Distillery = provenance with { Logprobs = null } },
        _ => row,
    };

    /// <summary>The end of the last sidecar block a line of <c>data.jsonl</c> refers to; 0 when none does. Lines that are not rows are left to the reader.</summary>
    private static long ReferencedEnd(string dataPath)
    {
        long end = 0;
        foreach (var line in File.ReadLines(dataPath))
        {
            if (!line.Contains("\"logprobs\":", StringComparison.Ordinal)) continue;
            try
            {
                if (JsonSerializer.Deserialize<ReferenceOnly>(line)?.Distillery?.Logprobs is { } reference) end = Math.Max(end, reference.End);
            }
            catch (JsonException)
            {
            }
        }
        return end;
    }

    private sealed record ReferenceOnly([property: JsonPropertyName("distillery")] ProvenanceReference? Distillery);

    private sealed record ProvenanceReference([property: JsonPropertyName("logprobs")] LogprobsRef? Logprobs);

    /// <summary>Replaces <c>data.jsonl</c> with the given lines, as they are; the swap is atomic.</summary>
    public Task RewriteLinesAsync(IEnumerable<string> lines, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lines);
        return SwapAsync(output =>
        {
            // Synchronous writes through one large buffer: a per-line asynchronous write costs more than the line.
            using var text = new StreamWriter(output, new UTF8Encoding(false), 1 << 20, leaveOpen: true) { NewLine = "\n" };
            foreach (var line in lines)
            {
                cancellationToken.ThrowIfCancellationRequested();
                text.WriteLine(line);
            }
            return true;
        }, cancellationToken);
    }

    /// <summary>Puts the lines of <c>data.jsonl</c> in the given order (<paramref name="order"/>[i] is the index, among the non-blank lines, of the line to write i-th), copying their bytes as they are; the swap is atomic. Returns false, changing nothing, when the file does not hold exactly <c>order.Count</c> non-blank lines.</summary>
    public Task<bool> ReorderLinesAsync(IReadOnlyList<int> order, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(order);
        return SwapAsync(output =>
        {
            var bytes = File.ReadAllBytes(DatasetFolder.DataPath(Directory));
            var lines = new List<Range>(order.Count);
            for (var start = 0; start < bytes.Length;)
            {
                var end = Array.IndexOf(bytes, (byte)'\n', start);
                if (end < 0) end = bytes.Length;
                if (bytes.AsSpan(start, end - start).IndexOfAnyExcept(" \t\r"u8) >= 0) lines.Add(start..end);
                start = end + 1;
            }
            if (lines.Count != order.Count) return false;
            foreach (var index in order)
            {
                cancellationToken.ThrowIfCancellationRequested();
                output.Write(bytes.AsSpan(lines[index]));
                output.WriteByte((byte)'\n');
            }
            return true;
        }, cancellationToken);
    }

    /// <summary>Writes a new <c>data.jsonl</c> beside the old one (under the append lock) and renames it over it, then appends to the new file; when <paramref name="write"/> returns false, keeps the old file.</summary>
    private async Task<bool> SwapAsync(Func<FileStream, bool> write, CancellationToken cancellationToken)
    {
        var path = DatasetFolder.DataPath(Directory);
        var temporary = path + ".tmp";
        await gate.WaitAsync(cancellationToken);
        try
        {
            using (var output = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                if (!write(output))
                {
                    output.Dispose();
                    File.Delete(temporary);
                    return false;
                }
                output.Flush(flushToDisk: true);
            }
            // The rows' blocks reach the disk before the rows that refer to them.
            sidecar.FlushToDisk();
            await stream.DisposeAsync();
            File.Move(temporary, path, overwrite: true);
            appended = 0;
            stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
            stream.Seek(0, SeekOrigin.End);
            return true;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Writes <c>manifest.json</c> atomically (a temporary file, then a rename).</summary>
    public async Task WriteManifestAsync(DatasetManifest manifest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        await WriteManifestAsync(Directory, manifest, cancellationToken);
    }

    /// <summary>Writes a folder's <c>manifest.json</c> atomically.</summary>
    public static async Task WriteManifestAsync(string directory, DatasetManifest manifest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(manifest);
        var path = DatasetFolder.ManifestPath(directory);
        var temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(manifest, DatasetJson.Indented) + "\n", cancellationToken);
        File.Move(temporary, path, overwrite: true);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await stream.DisposeAsync();
        sidecar.Dispose();
        gate.Dispose();
    }

    private static async Task<long> RepairTornTailAsync(FileStream stream, CancellationToken cancellationToken)
    {
        var length = stream.Length;
        if (length == 0) return 0;
        // Scan back from the end for the last newline; everything after it is a line the crash cut short.
        var buffer = new byte[64 * 1024];
        var end = length;
        while (end > 0)
        {
            var start = Math.Max(0, end - buffer.Length);
            var count = (int)(end - start);
            stream.Seek(start, SeekOrigin.Begin);
            await stream.ReadExactlyAsync(buffer.AsMemory(0, count), cancellationToken);
            var index = Array.LastIndexOf(buffer, (byte)'\n', count - 1, count);
            if (index >= 0)
            {
                var keep = start + index + 1;
                if (keep == length) return 0;
                stream.SetLength(keep);
                return length - keep;
            }
            end = start;
        }
        stream.SetLength(0);
        return length;
    }
}
