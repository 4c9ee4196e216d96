using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace Distillery.Models.Tokenizers;

/// <summary>
/// A tiktoken encoding as the byte-level BPE <c>tokenizer.json</c> that encodes the same way (as transformers' TikToken
/// converter writes it): the ranks as the vocabulary, every split of a token into two tokens as a merge ranked by the
/// merged token's rank (tiktoken merges the pair whose result ranks lowest), the encoding's split regex, and its special tokens.
/// </summary>
public static class TiktokenTokenizerJson
{
    /// <summary>The split regexes of the encodings Distillery offers, as tiktoken defines them.</summary>
    public static IReadOnlyDictionary<string, string> SplitRegexes { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["o200k_base"] = @"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|" +
                         @"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|" +
                         @"\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
        ["cl100k_base"] = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    };

    /// <summary>The encoding as a byte-level BPE tokenizer, whose <see cref="HfTokenizer.SaveToFolderAsync"/> writes the tokenizer.json.</summary>
    public static HfTokenizer Build(TiktokenTextTokenizer tiktoken)
    {
        ArgumentNullException.ThrowIfNull(tiktoken);
        var alphabet = HfTokenizer.ByteLevelAlphabet();
        string Spell(ReadOnlySpan<byte> bytes)
        {
            var sb = new StringBuilder(bytes.Length);
            foreach (var b in bytes) sb.Append(alphabet[b]);
            return sb.ToString();
        }
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var added = new List<(int Id, string Content, bool Special)>();
        for (var id = 0; id < tiktoken.VocabSize; id++)
        {
            if (tiktoken.IsSpecial(id)) added.Add((id, Encoding.UTF8.GetString(tiktoken.TokenBytes(id)), true));
            else if (tiktoken.TokenBytes(id).Length > 0) vocab.TryAdd(Spell(tiktoken.TokenBytes(id)), id);
        }
        var merges = new List<(int Rank, int Left, int Right, string Text)>();
        foreach (var (token, rank) in vocab)
            for (var at = 1; at < token.Length; at++)
                if (vocab.TryGetValue(token[..at], out var left) && vocab.TryGetValue(token[at..], out var right))
                    merges.Add((rank, left, right, $"{token[..at]} {token[at..]}"));
        var ordered = merges.OrderBy(m => m.Rank).ThenBy(m => m.Left).ThenBy(m => m.Right).Select(m => m.Text).ToList();
        return HfTokenizer.FromParts(vocab, ordered, added, SplitRegexes[tiktoken.Encoding], null, $"{tiktoken.Name} as tokenizer.json");
    }
}
