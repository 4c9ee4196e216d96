using System;
using System.Buffers;
using System.Text;

namespace Distillery.Models.Tokenizers;

/// <summary>Where raw bytes land in the text that decoding them as UTF-8, with U+FFFD for each invalid sequence, gives.</summary>
public static class Utf8Replacement
{
    private static readonly byte[] Replacement = [0xEF, 0xBF, 0xBD];

    /// <summary>
    /// For each position 0..raw.Length of <paramref name="raw"/>, the byte position in <paramref name="text"/> it maps to,
    /// where <paramref name="text"/> must be the UTF-8 of decoding <paramref name="raw"/> with replacement (each maximal
    /// invalid subpart becomes one U+FFFD, as .NET's and Python's decoders do); null where it is not. A position inside a
    /// character or a replaced sequence maps to that unit's end, so positions never decrease.
    /// </summary>
    public static int[]? TextPositions(ReadOnlySpan<byte> raw, ReadOnlySpan<byte> text)
    {
        var positions = new int[raw.Length + 1];
        int r = 0, t = 0;
        while (r < raw.Length)
        {
            var status = Rune.DecodeFromUtf8(raw[r..], out _, out var consumed);
            var unit = status == OperationStatus.Done ? raw.Slice(r, consumed) : Replacement;
            if (!text[t..].StartsWith(unit)) return null;
            t += unit.Length;
            for (var k = 1; k <= consumed; k++) positions[r + k] = t;
            r += consumed;
        }
        return t == text.Length ? positions : null;
    }
}
