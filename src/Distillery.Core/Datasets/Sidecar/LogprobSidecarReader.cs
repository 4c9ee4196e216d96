using System;
using System.IO;
using Distillery.Core.Errors;
using Distillery.Core.Tokens;
using Microsoft.Win32.SafeHandles;

namespace Distillery.Core.Datasets.Sidecar;

/// <summary>Reads rows' token logprobs from a dataset folder's sidecar; damage is an <see cref="InputException"/> naming the file.</summary>
public sealed class LogprobSidecarReader : IDisposable
{
    private readonly string tokensPath;
    private readonly string logprobsPath;
    private readonly SafeFileHandle blocks;
    private TokenTable table;
    private long tableLength;

    private LogprobSidecarReader(string tokensPath, string logprobsPath, SafeFileHandle blocks)
    {
        this.tokensPath = tokensPath;
        this.logprobsPath = logprobsPath;
        this.blocks = blocks;
        table = LoadTable(tokensPath, out tableLength);
    }

    /// <summary>Opens the sidecar of a dataset folder; a missing or damaged file is an <see cref="InputException"/>.</summary>
    public static LogprobSidecarReader Open(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var logprobsPath = LogprobSidecar.LogprobsPath(directory);
        if (!File.Exists(logprobsPath)) throw InputException.InFile(logprobsPath, "is missing, but data.jsonl refers to it; copy the whole dataset folder");
        var handle = File.OpenHandle(logprobsPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        try
        {
            Span<byte> header = stackalloc byte[SidecarBytes.HeaderLength];
            if (RandomAccess.Read(handle, header, 0) != header.Length || !SidecarBytes.HasHeader(header, LogprobSidecar.LogprobsMagic))
                throw InputException.InFile(logprobsPath, "is not a Distillery logprob file (bad header or version)");
            return new LogprobSidecarReader(LogprobSidecar.TokensPath(directory), logprobsPath, handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The tokens of the block a row refers to; a block out of range or not decodable is an <see cref="InputException"/> at the row's line.</summary>
    public TokenLogprob[] Read(LogprobsRef reference, string dataFile, int line)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var length = RandomAccess.GetLength(blocks);
        if (reference.Offset < SidecarBytes.HeaderLength || reference.Length <= 0 || reference.End > length)
            throw InputException.AtLine(dataFile, line, $"refers to bytes {reference.Offset}–{reference.End} of {logprobsPath}, which holds {length}; was the sidecar truncated or replaced?");
        var block = new byte[reference.Length];
        RandomAccess.Read(blocks, block, reference.Offset);
        var tokens = LogprobBlock.Decode(block, table);
        if (tokens is null && new FileInfo(tokensPath).Length != tableLength)
        {
            // A writer may have added tokens since the table was read.
            table = LoadTable(tokensPath, out tableLength);
            tokens = LogprobBlock.Decode(block, table);
        }
        return tokens ?? throw InputException.AtLine(dataFile, line, $"its logprobs at bytes {reference.Offset}–{reference.End} of {logprobsPath} are damaged or name tokens {tokensPath} does not hold");
    }

    /// <inheritdoc />
    public void Dispose() => blocks.Dispose();

    private static TokenTable LoadTable(string path, out long length)
    {
        if (!File.Exists(path)) throw InputException.InFile(path, "is missing, but data.jsonl refers to it; copy the whole dataset folder");
        var image = File.ReadAllBytes(path);
        length = image.Length;
        var (table, whole) = TokenTable.Read(image);
        if (whole < 0) throw InputException.InFile(path, "is not a Distillery token table (bad header or version)");
        return table;
    }
}
