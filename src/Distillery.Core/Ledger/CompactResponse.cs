using System;
using System.Collections.Generic;
using System.Text;
using Distillery.Core.Chat;
using Distillery.Core.Datasets.Sidecar;
using Distillery.Core.Tokens;

namespace Distillery.Core.Ledger;

/// <summary>
/// A response as the ledger keeps it (stored form 2, before Brotli; docs/ledger-format.md): the text, finish reason and
/// answering endpoint, the response's distinct tokens once (in <c>tokens.bin</c>'s entry layout), then three streams that
/// Brotli compresses far better apart than interleaved: per position its shape (alternatives, which alternative is the
/// chosen token, samples), every token index, and every logprob as a float16 written as the varint difference from the one
/// before it in the position (top-k lists are sorted, so most differences take a byte). The model and usage are the
/// ledger's own columns. Float16 is what the dataset's sidecar keeps, so a row built from this form equals the live one.
/// </summary>
internal static class CompactResponse
{
    /// <summary>The first bytes of the form: "DLR" and the stored-form version (the JSON of form 1 starts with '{').</summary>
    public static ReadOnlySpan<byte> Magic => [(byte)'D', (byte)'L', (byte)'R', 2];

    /// <summary>The compact form of <paramref name="response"/>; its logprobs at float16.</summary>
    public static byte[] Write(Completion response)
    {
        var table = new TokenTable();
        var (entries, shape, indices, logprobs) = (new List<byte>(), new List<byte>(), new List<byte>(), new List<byte>());
        foreach (var token in response.Tokens)
        {
            var own = (Index: table.Intern(token.Token, token.Bytes, token.Id, entries), Half: HalfBits(token.Logprob));
            var alternatives = new (int Index, ushort Half)[token.TopLogprobs.Count];
            for (var a = 0; a < alternatives.Length; a++)
            {
                var alternative = token.TopLogprobs[a];
                alternatives[a] = (table.Intern(alternative.Token, alternative.Bytes, alternative.Id, entries), HalfBits(alternative.Logprob));
            }
            // The chosen token is usually one of its alternatives, with the same logprob: then it is named by its place.
            var chosen = Array.IndexOf(alternatives, own);
            SidecarBytes.WriteVarint(shape, (ulong)alternatives.Length);
            SidecarBytes.WriteVarint(shape, (ulong)(chosen + 1));
            SidecarBytes.WriteVarint(shape, token.SampledLogprobs is { } s ? (ulong)s.Count + 1 : 0);
            var previous = 0;
            if (chosen < 0) Write(indices, logprobs, own, ref previous);
            foreach (var alternative in alternatives) Write(indices, logprobs, alternative, ref previous);
            foreach (var sample in token.SampledLogprobs ?? [])
                Write(indices, logprobs, (table.Intern(sample.Token, sample.Bytes, sample.Id, entries), HalfBits(sample.Logprob)), ref previous);
        }
        var output = new List<byte>(16 + entries.Count + shape.Count + indices.Count + logprobs.Count + response.Text.Length);
        output.AddRange(Magic);
        WriteText(output, response.Text);
        WriteText(output, response.FinishReason);
        SidecarBytes.WriteVarint(output, response.AnsweredBy is null ? 0 : (ulong)Encoding.UTF8.GetByteCount(response.AnsweredBy) + 1);
        output.AddRange(Encoding.UTF8.GetBytes(response.AnsweredBy ?? ""));
        SidecarBytes.WriteVarint(output, (ulong)response.Tokens.Count);
        foreach (var section in new[] { entries, shape, indices, logprobs })
        {
            SidecarBytes.WriteVarint(output, (ulong)section.Count);
            output.AddRange(section);
        }
        return [.. output];
    }

    /// <summary>The response in <paramref name="stored"/> (which starts with <see cref="Magic"/>), with the ledger's model and usage; null unless it is one whole, valid compact response.</summary>
    public static Completion? Read(ReadOnlySpan<byte> stored, string model, TokenUsage usage)
    {
        var at = Magic.Length;
        if (!stored.StartsWith(Magic) || !TryReadText(stored, ref at, out var text) || !TryReadText(stored, ref at, out var finishReason)) return null;
        if (!SidecarBytes.TryReadVarint(stored, ref at, out var answeredByLength) || answeredByLength > (ulong)(stored.Length - at + 1)) return null;
        string? answeredBy = answeredByLength == 0 ? null : Encoding.UTF8.GetString(stored.Slice(at, (int)answeredByLength - 1));
        at += answeredByLength == 0 ? 0 : (int)answeredByLength - 1;
        if (!SidecarBytes.TryReadVarint(stored, ref at, out var count)) return null;
        Span<int> starts = stackalloc int[4];
        Span<int> lengths = stackalloc int[4];
        for (var i = 0; i < 4; i++)
        {
            if (!SidecarBytes.TryReadVarint(stored, ref at, out var length) || length > (ulong)(stored.Length - at)) return null;
            (starts[i], lengths[i]) = (at, (int)length);
            at += (int)length;
        }
        if (at != stored.Length || TokenTable.FromEntries(stored.Slice(starts[0], lengths[0])) is not { } table) return null;
        var shape = stored.Slice(starts[1], lengths[1]);
        var indices = stored.Slice(starts[2], lengths[2]);
        var logprobs = stored.Slice(starts[3], lengths[3]);
        // Every position takes at least 3 bytes of shape, which bounds the count before anything is allocated.
        if (count > (ulong)shape.Length / 3) return null;
        var tokens = new TokenLogprob[count];
        var (atShape, atIndex, atLogprob) = (0, 0, 0);
        for (var p = 0; p < tokens.Length; p++)
        {
            if (!SidecarBytes.TryReadVarint(shape, ref atShape, out var k) || !SidecarBytes.TryReadVarint(shape, ref atShape, out var chosen)
                || !SidecarBytes.TryReadVarint(shape, ref atShape, out var samples) || chosen > k || k > (ulong)indices.Length || samples > (ulong)indices.Length + 1) return null;
            var previous = 0;
            TopLogprob? own = null;
            if (chosen == 0 && !TryRead(indices, logprobs, table, ref atIndex, ref atLogprob, ref previous, out own)) return null;
            var alternatives = new TopLogprob[k];
            for (var a = 0; a < alternatives.Length; a++)
                if (!TryRead(indices, logprobs, table, ref atIndex, ref atLogprob, ref previous, out alternatives[a])) return null;
            TopLogprob[]? sampled = samples == 0 ? null : new TopLogprob[samples - 1];
            for (var s = 0; s < (sampled?.Length ?? 0); s++)
                if (!TryRead(indices, logprobs, table, ref atIndex, ref atLogprob, ref previous, out sampled![s])) return null;
            own ??= alternatives[(int)chosen - 1];
            tokens[p] = new TokenLogprob(own.Token, own.Bytes, own.Logprob, alternatives) { Id = own.Id, SampledLogprobs = sampled };
        }
        if (atShape != shape.Length || atIndex != indices.Length || atLogprob != logprobs.Length) return null;
        return new Completion(text, tokens, finishReason, model, usage) { AnsweredBy = answeredBy };
    }

    /// <summary>A logprob's float16 bits.</summary>
    private static ushort HalfBits(double logprob) => BitConverter.HalfToUInt16Bits((Half)logprob);

    /// <summary>Float16 bits as an integer in the order of their values (−0 just below +0), so sorted logprobs differ by little.</summary>
    private static int Ordinal(ushort half) => (half & 0x8000) != 0 ? -(half & 0x7FFF) - 1 : half;

    private static void Write(List<byte> indices, List<byte> logprobs, (int Index, ushort Half) token, ref int previous)
    {
        SidecarBytes.WriteVarint(indices, (ulong)token.Index);
        var ordinal = Ordinal(token.Half);
        var difference = ordinal - previous;
        SidecarBytes.WriteVarint(logprobs, (uint)((difference << 1) ^ (difference >> 31))); // zigzag: small either way
        previous = ordinal;
    }

    private static bool TryRead(ReadOnlySpan<byte> indices, ReadOnlySpan<byte> logprobs, TokenTable table, ref int atIndex, ref int atLogprob, ref int previous, out TopLogprob token)
    {
        token = null!;
        if (!SidecarBytes.TryReadVarint(indices, ref atIndex, out var index) || index >= (ulong)table.Entries.Count) return false;
        if (!SidecarBytes.TryReadVarint(logprobs, ref atLogprob, out var zigzag) || zigzag > uint.MaxValue) return false;
        var ordinal = previous + ((int)(zigzag >> 1) ^ -(int)(zigzag & 1));
        if (ordinal is < -0x8000 or > 0x7FFF) return false;
        previous = ordinal;
        var half = (ushort)(ordinal >= 0 ? ordinal : (-ordinal - 1) | 0x8000);
        var entry = table.Entries[(int)index];
        token = new TopLogprob(entry.Token, entry.Bytes, (double)BitConverter.UInt16BitsToHalf(half)) { Id = entry.Id };
        return true;
    }

    private static void WriteText(List<byte> output, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        SidecarBytes.WriteVarint(output, (ulong)bytes.Length);
        output.AddRange(bytes);
    }

    private static bool TryReadText(ReadOnlySpan<byte> stored, ref int at, out string text)
    {
        text = "";
        if (!SidecarBytes.TryReadVarint(stored, ref at, out var length) || length > (ulong)(stored.Length - at)) return false;
        text = Encoding.UTF8.GetString(stored.Slice(at, (int)length));
        at += (int)length;
        return true;
    }
}
