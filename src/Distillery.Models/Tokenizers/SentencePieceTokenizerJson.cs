using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using Distillery.Core.Errors;

namespace Distillery.Models.Tokenizers;

/// <summary>
/// A SentencePiece-style BPE vocabulary (llama2.c <c>tokenizer.bin</c>, BPE <c>tokenizer.model</c>) as the Hugging Face
/// <c>tokenizer.json</c> that encodes the same way, in the layout transformers' Llama converter writes: normaliser
/// (NFKC, extra whitespace removed, ▁ prefix, spaces as ▁), no pre-tokeniser, BPE with byte fallback whose merges are
/// every split of a piece into two pieces, ranked by the merged piece's score (SentencePiece merges the pair whose result
/// scores highest), and a post-processor that puts BOS first.
/// </summary>
public static class SentencePieceTokenizerJson
{
    /// <summary>The tokenizer.json document; a vocabulary that repeats a piece is an <see cref="InputException"/> naming <paramref name="source"/>.</summary>
    public static JsonObject Build(SentencePieceVocabulary vocabulary, string source)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var id = 0; id < vocabulary.Pieces.Count; id++)
            if (!ids.TryAdd(vocabulary.Pieces[id].Piece, id))
                throw InputException.InFile(source, $"pieces {ids[vocabulary.Pieces[id].Piece]} and {id} are both '{vocabulary.Pieces[id].Piece}'; tokenizer.json needs each piece once");
        var bos = vocabulary.PieceOf(vocabulary.BosId);
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(AddedTokens(vocabulary).ToArray()),
            ["normalizer"] = Normalizer(vocabulary),
            ["pre_tokenizer"] = null,
            ["post_processor"] = bos is null ? null : BosFirst(bos, vocabulary.BosId),
            ["decoder"] = Decoder(vocabulary),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = vocabulary.PieceOf(vocabulary.UnknownId),
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = true,
                ["byte_fallback"] = vocabulary.ByteFallback,
                ["ignore_merges"] = false,
                ["vocab"] = new JsonObject(vocabulary.Pieces.Select((p, id) => KeyValuePair.Create(p.Piece, (JsonNode?)id))),
                ["merges"] = new JsonArray(Merges(vocabulary, ids).Select(m => (JsonNode?)m).ToArray()),
            },
        };
    }

    /// <summary>
    /// "left right" for every piece that is two normal pieces joined, best merged score first; pairs that make the same
    /// piece follow its id, then the left piece's id (the order transformers' SentencePiece extractor uses).
    /// </summary>
    public static IReadOnlyList<string> Merges(SentencePieceVocabulary vocabulary, IReadOnlyDictionary<string, int> ids)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(ids);
        var merges = new List<(float Score, int Merged, int Left, string Text)>();
        for (var id = 0; id < vocabulary.Pieces.Count; id++)
        {
            var (piece, score, kind) = vocabulary.Pieces[id];
            if (kind != SentencePieceKind.Normal) continue;
            // Split only between code points: a surrogate pair is one character to SentencePiece.
            foreach (var at in CodePointStops(piece))
            {
                var (left, right) = (piece[..at], piece[at..]);
                if (IsNormal(vocabulary, ids, left, out var leftId) && IsNormal(vocabulary, ids, right, out _))
                    merges.Add((score, id, leftId, $"{left} {right}"));
            }
        }
        return merges.OrderByDescending(m => m.Score).ThenBy(m => m.Merged).ThenBy(m => m.Left).Select(m => m.Text).ToList();
    }

    private static IEnumerable<int> CodePointStops(string piece)
    {
        for (var i = 1; i < piece.Length; i++)
            if (!char.IsLowSurrogate(piece[i])) yield return i;
    }

    private static bool IsNormal(SentencePieceVocabulary vocabulary, IReadOnlyDictionary<string, int> ids, string piece, out int id) =>
        ids.TryGetValue(piece, out id) && vocabulary.Pieces[id].Kind == SentencePieceKind.Normal;

    private static IEnumerable<JsonNode> AddedTokens(SentencePieceVocabulary vocabulary) =>
        vocabulary.Pieces.Select((p, id) => (p, id))
            .Where(x => x.p.Kind is SentencePieceKind.Unknown or SentencePieceKind.Control or SentencePieceKind.UserDefined)
            .Select(x => (JsonNode)new JsonObject
            {
                ["id"] = x.id,
                ["content"] = x.p.Piece,
                ["single_word"] = false,
                ["lstrip"] = false,
                ["rstrip"] = false,
                ["normalized"] = x.p.Kind == SentencePieceKind.UserDefined,
                ["special"] = x.p.Kind != SentencePieceKind.UserDefined,
            });

    /// <summary>The normaliser in SentencePiece's order: the Unicode form, whitespace clean-up, then the ▁ prefix and ▁ for spaces.</summary>
    private static JsonObject Normalizer(SentencePieceVocabulary vocabulary)
    {
        var steps = new JsonArray();
        if (vocabulary.Nfkc) steps.Add(new JsonObject { ["type"] = "NFKC" });
        if (vocabulary.RemoveExtraWhitespace)
        {
            steps.Add(Replace(new JsonObject { ["Regex"] = "^ +| +$" }, ""));
            steps.Add(Replace(new JsonObject { ["Regex"] = " {2,}" }, " "));
        }
        if (vocabulary.AddDummyPrefix) steps.Add(new JsonObject { ["type"] = "Prepend", ["prepend"] = "\u2581" });
        steps.Add(Replace(new JsonObject { ["String"] = " " }, "\u2581"));
        return new JsonObject { ["type"] = "Sequence", ["normalizers"] = steps };
    }

    private static JsonObject Replace(JsonObject pattern, string content) => new() { ["type"] = "Replace", ["pattern"] = pattern, ["content"] = content };

    private static JsonObject Decoder(SentencePieceVocabulary vocabulary)
    {
        var steps = new JsonArray { Replace(new JsonObject { ["String"] = "\u2581" }, " "), new JsonObject { ["type"] = "ByteFallback" }, new JsonObject { ["type"] = "Fuse" } };
        if (vocabulary.AddDummyPrefix) steps.Add(new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 });
        return new JsonObject { ["type"] = "Sequence", ["decoders"] = steps };
    }

    private static JsonObject BosFirst(string bos, int bosId) => new()
    {
        ["type"] = "TemplateProcessing",
        ["single"] = new JsonArray(Special(bos), Sequence("A")),
        ["pair"] = new JsonArray(Special(bos), Sequence("A"), Special(bos), Sequence("B")),
        ["special_tokens"] = new JsonObject { [bos] = new JsonObject { ["id"] = bos, ["ids"] = new JsonArray(bosId), ["tokens"] = new JsonArray(bos) } },
    };

    private static JsonObject Special(string token) => new() { ["SpecialToken"] = new JsonObject { ["id"] = token, ["type_id"] = 0 } };

    private static JsonObject Sequence(string id) => new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = 0 } };
}
