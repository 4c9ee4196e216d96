using System;
using System.Collections.Generic;
using System.IO;
using Distillery.Core.Errors;
using Distillery.Core.Tokens;

namespace Distillery.Core.Datasets.Sidecar;

/// <summary>Appends rows' token logprobs to a sidecar (a token table file and a blocks file), creating the files at the first row that has tokens. Not thread-safe: the dataset writer serialises calls.</summary>
public sealed class LogprobSidecarWriter : IDisposable
{
    private readonly string tokensPath;
    private readonly string logprobsPath;
    private readonly TokenTable table;
    private FileStream? tokens;
    private FileStream? logprobs;

    private LogprobSidecarWriter(string tokensPath, string logprobsPath, TokenTable table, FileStream? tokens, FileStream? logprobs)
    {
        this.tokensPath = tokensPath;
        this.logprobsPath = logprobsPath;
        this.table = table;
        this.tokens = tokens;
        this.logprobs = logprobs;
    }

    /// <summary>
    /// Opens a sidecar for appending. The blocks file is cut back to <paramref name="referencedEnd"/> (the end of the last
    /// block a row references; 0 for none), dropping blocks a crash left without their row; a token entry cut short is dropped.
    /// </summary>
    public static LogprobSidecarWriter Open(string tokensPath, string logprobsPath, long referencedEnd)
    {
        ArgumentNullException.ThrowIfNull(tokensPath);
        ArgumentNullException.ThrowIfNull(logprobsPath);
        var table = new TokenTable();
        FileStream? tokens = null, logprobs = null;
        try
        {
            if (File.Exists(tokensPath) && new FileInfo(tokensPath).Length > 0)
            {
                tokens = new FileStream(tokensPath, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
                var image = new byte[tokens.Length];
                tokens.ReadExactly(image);
                (table, var whole) = TokenTable.Read(image);
                if (whole < 0) throw InputException.InFile(tokensPath, "is not a Distillery token table (bad header or version)");
                tokens.SetLength(whole);
                tokens.Seek(0, SeekOrigin.End);
            }
            if (File.Exists(logprobsPath)) logprobs = OpenBlocks(logprobsPath, referencedEnd);
            else if (referencedEnd > 0) throw InputException.InFile(logprobsPath, "is missing, but data.jsonl refers to it; copy the whole dataset folder");
            if (referencedEnd > 0 && tokens is null) throw InputException.InFile(tokensPath, "is missing, but data.jsonl refers to it; copy the whole dataset folder");
            return new LogprobSidecarWriter(tokensPath, logprobsPath, table, tokens, logprobs);
        }
        catch
        {
            tokens?.Dispose();
            logprobs?.Dispose();
            throw;
        }
    }

    /// <summary>Writes a row's tokens (new token entries first, then the block, each flushed) and returns where the block lies.</summary>
    public LogprobsRef Append(IReadOnlyList<TokenLogprob> rowTokens)
    {
        ArgumentNullException.ThrowIfNull(rowTokens);
        var added = new List<byte>();
        var block = LogprobBlock.Encode(rowTokens, table, added);
        tokens ??= Create(tokensPath, TokenTable.Magic);
        logprobs ??= Create(logprobsPath, LogprobSidecar.LogprobsMagic);
        if (added.Count > 0)
        {
            tokens.Write([.. added]);
            tokens.Flush();
        }
        var offset = logprobs.Position;
        logprobs.Write(block);
        logprobs.Flush();
        return new LogprobsRef(offset, block.Length);
    }

    /// <summary>Flushes both files to the disk.</summary>
    public void FlushToDisk()
    {
        tokens?.Flush(flushToDisk: true);
        logprobs?.Flush(flushToDisk: true);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        tokens?.Dispose();
        logprobs?.Dispose();
    }

    private static FileStream OpenBlocks(string path, long referencedEnd)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            Span<byte> header = stackalloc byte[SidecarBytes.HeaderLength];
            var whole = stream.Length >= header.Length && stream.Read(header) == header.Length && SidecarBytes.HasHeader(header, LogprobSidecar.LogprobsMagic);
            if (referencedEnd > 0 && !whole) throw InputException.InFile(path, "is not a Distillery logprob file (bad header or version)");
            if (referencedEnd > stream.Length) throw InputException.InFile(path, $"is {stream.Length} bytes, but data.jsonl refers to bytes up to {referencedEnd}; was it truncated or replaced?");
            if (!whole)
            {
                // Nothing refers to it: a header torn by a crash is written again.
                stream.SetLength(0);
                stream.Write(SidecarBytes.Header(LogprobSidecar.LogprobsMagic));
            }
            stream.SetLength(Math.Max(referencedEnd, SidecarBytes.HeaderLength));
            stream.Seek(0, SeekOrigin.End);
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static FileStream Create(string path, ReadOnlySpan<byte> magic)
    {
        var stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read);
        stream.Write(SidecarBytes.Header(magic));
        return stream;
    }
}
