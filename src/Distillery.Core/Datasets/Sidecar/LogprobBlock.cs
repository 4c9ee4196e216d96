using System;
using System.Collections.Generic;
using Distillery.Core.Tokens;

namespace Distillery.Core.Datasets.Sidecar;

/// <summary>
/// One row's token logprobs in <c>logprobs.bin</c>: varint position count, then per position the token (varint index
/// into <see cref="TokenTable"/>, float16 logprob), varint k and k alternatives (index, float16), and varint s + 1 with s
/// sampled tokens (index, float16), 0 meaning the position has no <c>sampled_logprobs</c>.
/// </summary>
public static class LogprobBlock
{
    /// <summary>A logprob at the precision blocks keep it (float16): what a row read back holds.</summary>
    public static double AtStoredPrecision(double logprob) => (double)(Half)logprob;

    /// <summary>Encodes a row's tokens, interning new tokens into <paramref name="table"/> (their entries appended to <paramref name="newEntries"/>).</summary>
    public static byte[] Encode(IReadOnlyList<TokenLogprob> tokens, TokenTable table, List<byte> newEntries)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(table);
        var output = new List<byte>(tokens.Count * 8);
        SidecarBytes.WriteVarint(output, (ulong)tokens.Count);
        foreach (var token in tokens)
        {
            Write(output, table.Intern(token.Token, token.Bytes, token.Id, newEntries), token.Logprob);
            SidecarBytes.WriteVarint(output, (ulong)token.TopLogprobs.Count);
            foreach (var alternative in token.TopLogprobs) Write(output, table.Intern(alternative.Token, alternative.Bytes, alternative.Id, newEntries), alternative.Logprob);
            SidecarBytes.WriteVarint(output, token.SampledLogprobs is null ? 0 : (ulong)token.SampledLogprobs.Count + 1);
            foreach (var sample in token.SampledLogprobs ?? []) Write(output, table.Intern(sample.Token, sample.Bytes, sample.Id, newEntries), sample.Logprob);
        }
        return [.. output];
    }

    /// <summary>Decodes a block that must fill <paramref name="block"/> exactly; null when it is not a whole, valid block for this table.</summary>
    public static TokenLogprob[]? Decode(ReadOnlySpan<byte> block, TokenTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var at = 0;
        // Every position takes at least 5 bytes, which bounds the count before anything is allocated.
        if (!SidecarBytes.TryReadVarint(block, ref at, out var count) || count > (ulong)block.Length / 5) return null;
        var tokens = new TokenLogprob[count];
        for (var p = 0; p < tokens.Length; p++)
        {
            if (!TryRead(block, ref at, table, out var entry, out var logprob)) return null;
            if (!TryReadList(block, ref at, table, 0, out var alternatives) || alternatives is null) return null;
            if (!TryReadList(block, ref at, table, 1, out var samples)) return null;
            tokens[p] = new TokenLogprob(entry.Token, entry.Bytes, logprob, alternatives) { Id = entry.Id, SampledLogprobs = samples };
        }
        return at == block.Length ? tokens : null;
    }

    private static void Write(List<byte> output, int index, double logprob)
    {
        SidecarBytes.WriteVarint(output, (ulong)index);
        SidecarBytes.WriteHalf(output, logprob);
    }

    /// <summary>Reads a count (less <paramref name="bias"/>; a biased 0 is a missing list) and that many tokens.</summary>
    private static bool TryReadList(ReadOnlySpan<byte> block, ref int at, TokenTable table, int bias, out TopLogprob[]? list)
    {
        list = null;
        if (!SidecarBytes.TryReadVarint(block, ref at, out var count) || count > (ulong)(block.Length - at) / 3 + (ulong)bias) return false;
        if (count == 0 && bias == 1) return true;
        list = new TopLogprob[count - (ulong)bias];
        for (var i = 0; i < list.Length; i++)
        {
            if (!TryRead(block, ref at, table, out var entry, out var logprob)) return false;
            list[i] = new TopLogprob(entry.Token, entry.Bytes, logprob) { Id = entry.Id };
        }
        return true;
    }

    private static bool TryRead(ReadOnlySpan<byte> block, ref int at, TokenTable table, out TokenEntry entry, out double logprob)
    {
        entry = null!;
        logprob = 0;
        if (!SidecarBytes.TryReadVarint(block, ref at, out var index) || index >= (ulong)table.Entries.Count) return false;
        entry = table.Entries[(int)index];
        return SidecarBytes.TryReadHalf(block, ref at, out logprob);
    }
}
