using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Distillery.Core.Errors;

namespace Distillery.Models.Tokenizers;

/// <summary>
/// Each token of one encoding mapped to the byte range of the ORIGINAL text (its UTF-8 bytes) that it stands for.
/// The ranges are contiguous and cover the text exactly: token i covers [<see cref="Start"/>(i), <see cref="End"/>(i)),
/// and the next token starts where it ends. A token that stands for no text covers zero bytes.
/// </summary>
public sealed class TokenOffsets
{
    private readonly int[] ends;

    private TokenOffsets(int[] ends, int textBytes)
    {
        this.ends = ends;
        TextBytes = textBytes;
    }

    /// <summary>The number of tokens.</summary>
    public int Count => ends.Length;

    /// <summary>The length of the original text in UTF-8 bytes.</summary>
    public int TextBytes { get; }

    /// <summary>The first byte token i covers.</summary>
    public int Start(int i) => i == 0 ? 0 : ends[i - 1];

    /// <summary>One past the last byte token i covers.</summary>
    public int End(int i) => ends[i];

    /// <summary>
    /// Maps the tokens of <paramref name="ids"/>, an encoding of <paramref name="text"/>, onto the text's bytes.
    /// Each token's bytes come from <see cref="ITextTokenizer.DecodeStep"/> in order, the first as if it followed BOS
    /// (which drops a dummy-prefix space that is not in the text, as llama2.c and SentencePiece decode). A special token
    /// covers its own bytes where the text holds them at that point (a chat marker written in the text) and zero bytes
    /// otherwise (BOS). Byte-fallback tokens cover their one byte each, so the pieces of one UTF-8 character split
    /// across tokens. Where the tokenizer's normaliser changes the text (Qwen's NFC), the tokens spell the normalised
    /// text, which is aligned back to the original one run of characters at a time (a character with the combining
    /// marks that follow it, kept where the normalised text holds it unchanged at that point, else grown until
    /// normalising the run alone gives the next part of the normalised text): a run the normaliser keeps maps byte for
    /// byte; a run it removes (SentencePiece's extra whitespace) joins the token before it; in a run it changes, the bytes both forms share at the start map byte for
    /// byte and the rest of the run goes whole to the token that spells its last byte (so a token that ends inside a
    /// changed character covers none of it).
    /// Throws an <see cref="InputException"/> where the tokens do not spell the text (a tokenizer that cannot encode it).
    /// </summary>
    public static TokenOffsets Map(ITextTokenizer tokenizer, string text, IReadOnlyList<int> ids)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(ids);
        var original = Encoding.UTF8.GetBytes(text);
        var normalized = tokenizer.Normalize(text);
        var spelled = ReferenceEquals(normalized, text) || normalized == text ? original : Encoding.UTF8.GetBytes(normalized);
        var toOriginal = ReferenceEquals(spelled, original) ? null : NormalizedToOriginal(tokenizer, text, normalized, original.Length);

        var ends = new int[ids.Count];
        var at = 0; // position in the spelled (normalised) bytes
        var previous = tokenizer.BosId ?? -1;
        for (var i = 0; i < ids.Count; i++)
        {
            var id = ids[i];
            if (id < 0 || id >= tokenizer.VocabSize) throw new ArgumentOutOfRangeException(nameof(ids), $"token {i} is id {id}, outside {tokenizer.Name}'s vocabulary");
            var bytes = tokenizer.IsSpecial(id)
                ? (spelled.AsSpan(at).StartsWith(tokenizer.TokenBytes(id)) ? tokenizer.TokenBytes(id) : [])
                : tokenizer.DecodeStep(previous, id);
            if (!spelled.AsSpan(at).StartsWith(bytes)) throw CannotSpell(tokenizer, text, spelled, at);
            at += bytes.Length;
            ends[i] = toOriginal is null ? at : toOriginal[at];
            previous = id;
        }
        if (at != spelled.Length) throw CannotSpell(tokenizer, text, spelled, at);
        return new TokenOffsets(ends, original.Length);
    }

    /// <summary>Offsets from token byte lengths over a text of <paramref name="textBytes"/> bytes (for tests and callers that already know them).</summary>
    public static TokenOffsets FromLengths(IReadOnlyList<int> lengths, int textBytes)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        var ends = new int[lengths.Count];
        var at = 0;
        for (var i = 0; i < lengths.Count; i++)
        {
            if (lengths[i] < 0) throw new ArgumentOutOfRangeException(nameof(lengths), $"token {i} has length {lengths[i]}");
            ends[i] = at += lengths[i];
        }
        if (at != textBytes) throw new ArgumentException($"the tokens cover {at} bytes, the text has {textBytes}", nameof(lengths));
        return new TokenOffsets(ends, textBytes);
    }

    /// <summary>
    /// Offsets of tokens whose raw bytes (<paramref name="spelled"/>, token i having <paramref name="lengths"/>[i] of them)
    /// spell <paramref name="text"/> either exactly or once decoded as UTF-8 with U+FFFD for each invalid sequence (what a
    /// teacher's text holds where it sampled byte tokens that do not form a character: a cut-off character at max_tokens,
    /// or a weak model's byte fallback). A replaced sequence or a character goes whole to the token that spells its last
    /// byte. Null where the tokens spell neither.
    /// </summary>
    public static TokenOffsets? FromTokenBytes(IReadOnlyList<int> lengths, ReadOnlySpan<byte> spelled, ReadOnlySpan<byte> text)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        if (spelled.SequenceEqual(text)) return FromLengths(lengths, text.Length);
        var positions = Utf8Replacement.TextPositions(spelled, text);
        if (positions is null) return null;
        var ends = new int[lengths.Count];
        var at = 0;
        for (var i = 0; i < lengths.Count; i++) ends[i] = positions[at += lengths[i]];
        return new TokenOffsets(ends, text.Length);
    }

    /// <summary>
    /// For each byte position of the normalised text's UTF-8, the original text's byte position it maps to (see
    /// <see cref="Map"/>): exact inside runs the normaliser keeps and over the prefix a changed run shares with its normal
    /// form, the point where they part elsewhere in a changed run.
    /// </summary>
    private static int[] NormalizedToOriginal(ITextTokenizer tokenizer, string text, string normalized, int originalBytes)
    {
        var map = new int[Encoding.UTF8.GetByteCount(normalized) + 1];
        int chars = 0, normChars = 0, bytes = 0, normBytes = 0;
        while (chars < text.Length)
        {
            // Grow the run one character-with-marks at a time until it normalises, on its own, to the next part of the
            // normalised text; Hangul jamo and other compositions across base characters need more than one.
            var end = NextRunEnd(text, chars);
            string? piece = null;
            // A run that stands as it is in the normalised text at this point is kept; this is also what tells a kept
            // space from one the normaliser removes (normalised alone, a lone space can vanish).
            if (string.CompareOrdinal(normalized, normChars, text, chars, end - chars) == 0 && normChars + end - chars <= normalized.Length &&
                (normChars + end - chars == normalized.Length || !IsMark(normalized, normChars + end - chars)))
                piece = text[chars..end];
            else end = chars;
            while (piece is null && end < text.Length)
            {
                end = NextRunEnd(text, end);
                var candidate = tokenizer.Normalize(text[chars..end]);
                if (string.CompareOrdinal(normalized, normChars, candidate, 0, candidate.Length) == 0 &&
                    (end == text.Length || normChars + candidate.Length < normalized.Length && !IsMark(normalized, normChars + candidate.Length)))
                {
                    piece = candidate;
                    break;
                }
            }
            if (piece is null) throw Untraceable(tokenizer, chars);
            var run = Encoding.UTF8.GetBytes(text[chars..end]);
            var pieceUtf8 = Encoding.UTF8.GetBytes(piece);
            var runBytes = run.Length;
            var pieceBytes = pieceUtf8.Length;
            // The bytes the run and its normal form share at the start map exactly; the rest maps to where they part.
            var same = run.AsSpan().CommonPrefixLength(pieceUtf8);
            for (var b = 0; b < pieceBytes; b++) map[normBytes + b] = bytes + Math.Min(b, same);
            chars = end;
            normChars += piece.Length;
            bytes += runBytes;
            normBytes += pieceBytes;
        }
        if (normChars != normalized.Length) throw Untraceable(tokenizer, chars);
        map[normBytes] = originalBytes;
        return map;
    }

    /// <summary>The end of the character at <paramref name="at"/> and of the combining marks that follow it.</summary>
    private static int NextRunEnd(string text, int at)
    {
        var end = at + (char.IsHighSurrogate(text[at]) && at + 1 < text.Length ? 2 : 1);
        while (end < text.Length && IsMark(text, end)) end += char.IsHighSurrogate(text[end]) && end + 1 < text.Length ? 2 : 1;
        return end;
    }

    private static bool IsMark(string text, int at) => CharUnicodeInfo.GetUnicodeCategory(text, at) is
        UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark;

    private static InputException Untraceable(ITextTokenizer tokenizer, int at) => InputException.InField("tokenizer",
        $"{tokenizer.Name}'s normaliser rewrites this text in a way that cannot be traced back to it character by character (at character {at}; e.g. it removes whitespace), so its tokens cannot be aligned with another tokenizer's");

    private static InputException CannotSpell(ITextTokenizer tokenizer, string text, byte[] spelled, int at)
    {
        var shown = Encoding.UTF8.GetString(spelled, at, Math.Min(12, spelled.Length - at)).Replace("\n", "\\n", StringComparison.Ordinal);
        return InputException.InField("tokenizer", $"{tokenizer.Name} cannot encode this text: its tokens stop matching it at byte {at} of {spelled.Length} (\"{shown}\"); {Describe(text)}");
    }

    private static string Describe(string text) => text.Length <= 40 ? $"text \"{text.Replace("\n", "\\n", StringComparison.Ordinal)}\"" : $"a text of {text.Length} characters";
}
