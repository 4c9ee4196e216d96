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
    /// choosing that token, up to the student merging it with what follows. The default: exact wherever it applies.
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
}

/// <summary>The student token that a teacher alternative (given by its bytes) starts with, where that is well defined.</summary>
public sealed class StudentSpelling
{
    private readonly ITextTokenizer student;
    private readonly Dictionary<string, int> byBytes;
    private readonly HashSet<int> prefixesOfLonger;
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private StudentSpelling(ITextTokenizer student, AlternativeMatch match)
    {
        this.student = student;
        Match = match;
        byBytes = LmExampleBuilder.ByteVocabulary(student);
        prefixesOfLonger = match == AlternativeMatch.UnambiguousToken ? PrefixesOfLongerTokens(byBytes) : [];
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

    /// <summary>The student's first token for an alternative's bytes, or −1 where it is not well defined.</summary>
    public int FirstToken(IReadOnlyList<int> bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Count == 0) return -1;
        var raw = new byte[bytes.Count];
        for (var i = 0; i < raw.Length; i++) raw[i] = checked((byte)bytes[i]);
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

    /// <summary>The tokens whose bytes begin another token's: in byte order a token's extensions follow it directly (hex keeps the order).</summary>
    private static HashSet<int> PrefixesOfLongerTokens(Dictionary<string, int> byBytes)
    {
        var keys = new List<string>(byBytes.Keys);
        keys.Sort(StringComparer.Ordinal);
        var result = new HashSet<int>();
        for (var i = 0; i + 1 < keys.Count; i++)
            if (keys[i + 1].Length > keys[i].Length && keys[i + 1].StartsWith(keys[i], StringComparison.Ordinal)) result.Add(byBytes[keys[i]]);
        return result;
    }
}
