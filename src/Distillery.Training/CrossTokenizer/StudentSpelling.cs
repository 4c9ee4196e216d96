using System;
using System.Collections.Generic;
using System.Text;
using Distillery.Models.Tokenizers;
using Distillery.Training.Language.Data;

namespace Distillery.Training.CrossTokenizer;

/// <summary>When a teacher alternative's bytes have a well-defined first student token.</summary>
public enum AlternativeMatch
{
    /// <summary>
    /// Only when the bytes are exactly one (non-special) student token: the teacher choosing that alternative is the student
    /// choosing that token, up to the student merging it with what follows (training defaults to <see cref="Prefix"/>).
    /// </summary>
    WholeToken,

    /// <summary>
    /// Only when the bytes are exactly one student token and no longer student token starts with them. A teacher
    /// alternative " the" carries the probability of every continuation it begins (" there", " them"); where the student
    /// has those as tokens of their own, putting that mass on its " the" teaches it a split it would not make.
    /// </summary>
    UnambiguousToken,

    /// <summary>
    /// Also when the student's encoder splits the bytes into several tokens that spell them back exactly (no dummy prefix, no
    /// normalizer change): the first of them. Approximate: it assumes the student's split of the alternative survives the
    /// text that follows it. Bytes that are not whole UTF-8 characters never match this way.
    /// </summary>
    FirstToken,

    /// <summary>
    /// Marginalise over the student's first token: an alternative's probability is put on the group of student tokens
    /// whose bytes begin with its bytes, less those that begin with a longer alternative's (they form that one's group).
    /// A teacher alternative " b" is the teacher beginning the continuation with " b"; a student with " bed" and " bus"
    /// as tokens begins the same continuation with one of them, so the student's probability of that event is the sum
    /// over them (the first-token marginal of Phan et al. 2024, "Exact byte-level probabilities from tokenized language
    /// models", arXiv 2410.09303, cut at one student token). Approximate where the student would spell the alternative's
    /// bytes with a shorter token first; those paths stay in the tail.
    /// </summary>
    Prefix,
}

/// <summary>The student token that a teacher alternative (given by its bytes) starts with, where that is well defined.</summary>
public sealed class StudentSpelling
{
    private readonly ITextTokenizer student;
    private readonly Dictionary<string, int> byBytes;
    private readonly HashSet<int> prefixesOfLonger;
    private readonly string[] sortedKeys;
    private readonly int[] sortedIds;
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private StudentSpelling(ITextTokenizer student, AlternativeMatch match)
    {
        this.student = student;
        Match = match;
        byBytes = LmExampleBuilder.ByteVocabulary(student);
        sortedKeys = [.. byBytes.Keys];
        Array.Sort(sortedKeys, StringComparer.Ordinal);
        sortedIds = Array.ConvertAll(sortedKeys, key => byBytes[key]);
        prefixesOfLonger = match == AlternativeMatch.UnambiguousToken ? PrefixesOfLongerTokens(sortedKeys, byBytes) : [];
    }

    /// <summary>The spelling rules for a student tokenizer.</summary>
    public static StudentSpelling Of(ITextTokenizer student, AlternativeMatch match = AlternativeMatch.WholeToken)
    {
        ArgumentNullException.ThrowIfNull(student);
        return new StudentSpelling(student, match);
    }

    /// <summary>Which alternatives match.</summary>
    public AlternativeMatch Match { get; }

    /// <summary>The student's vocabulary size.</summary>
    public int VocabSize => student.VocabSize;

    /// <summary>The student tokens whose bytes begin with these bytes (the token spelling them exactly included), in byte order.</summary>
    public ReadOnlySpan<int> Extensions(IReadOnlyList<int> bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Count == 0) return [];
        var key = Convert.ToHexString(Raw(bytes));
        // Hex keeps byte order, so the keys a prefix begins form one run that starts where the prefix would be inserted.
        var start = Array.BinarySearch(sortedKeys, key, StringComparer.Ordinal);
        if (start < 0) start = ~start;
        var end = start;
        while (end < sortedKeys.Length && sortedKeys[end].StartsWith(key, StringComparison.Ordinal)) end++;
        return sortedIds.AsSpan(start, end - start);
    }

    /// <summary>The student's first token for an alternative's bytes, or −1 where it is not well defined (under <see cref="AlternativeMatch.Prefix"/>, the token spelling them exactly).</summary>
    public int FirstToken(IReadOnlyList<int> bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Count == 0) return -1;
        var raw = Raw(bytes);
        if (byBytes.TryGetValue(Convert.ToHexString(raw), out var whole))
            return Match == AlternativeMatch.UnambiguousToken && prefixesOfLonger.Contains(whole) ? -1 : whole;
        if (Match != AlternativeMatch.FirstToken) return -1;

        string text;
        try { text = Strict.GetString(raw); }
        catch (DecoderFallbackException) { return -1; }
        var ids = student.Encode(text);
        if (ids.Count == 0) return -1;
        // The split counts only where it spells the bytes back exactly: a dummy prefix or a normalizer would change them.
        var spelled = new List<byte>(raw.Length);
        foreach (var id in ids)
        {
            if (student.IsSpecial(id)) return -1;
            spelled.AddRange(student.TokenBytes(id).ToArray());
        }
        return spelled.Count == raw.Length && spelled.ToArray().AsSpan().SequenceEqual(raw) ? ids[0] : -1;
    }

    private static byte[] Raw(IReadOnlyList<int> bytes)
    {
        var raw = new byte[bytes.Count];
        for (var i = 0; i < raw.Length; i++) raw[i] = checked((byte)bytes[i]);
        return raw;
    }

    /// <summary>The tokens whose bytes begin another token's: in byte order a token's extensions follow it directly (hex keeps the order).</summary>
    private static HashSet<int> PrefixesOfLongerTokens(string[] keys, Dictionary<string, int> byBytes)
    {
        var result = new HashSet<int>();
        for (var i = 0; i + 1 < keys.Length; i++)
            if (keys[i + 1].Length > keys[i].Length && keys[i + 1].StartsWith(keys[i], StringComparison.Ordinal)) result.Add(byBytes[keys[i]]);
        return result;
    }
}
