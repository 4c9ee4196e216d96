using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Distillery.Core.Errors;
using Distillery.Models.Llama;
using Distillery.Models.Tokenizers;

namespace Distillery.Models.Gguf;

/// <summary>
/// A tokenizer as GGUF's <c>tokenizer.ggml.*</c> metadata, both ways: llama2.c/SentencePiece vocabularies as model
/// "llama" (scores, byte fallback), Hugging Face byte-level BPE as model "gpt2" (tokens, merges, token types and the
/// pre-tokenizer's name, which tells llama.cpp which split regex to use).
/// </summary>
public static class GgufVocabulary
{
    private const string SentencePieceSpace = "\u2581";

    // llama.cpp's token types (llama_token_type); SentencePieceKind uses the same numbers.
    private const int Normal = 1, Control = 3, UserDefined = 4, Unused = 5;

    /// <summary>The split regexes of the byte-level BPE families llama.cpp knows, by its pre-tokenizer name.</summary>
    public static IReadOnlyDictionary<string, string> PreTokenizers { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["qwen2"] = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
        ["llama-bpe"] = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
        ["gpt-2"] = HfTokenizer.Gpt2SplitRegex,
    };

    /// <summary>Adds the tokenizer's metadata for a model of <paramref name="config"/>'s vocabulary; a tokenizer GGUF cannot hold is a one-line error.</summary>
    public static void Add(GgufWriter writer, ITextTokenizer tokenizer, LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(config);
        if (tokenizer.VocabSize > config.VocabSize)
            throw InputException.InField("--format", $"the tokenizer has {tokenizer.VocabSize} tokens but the model's vocabulary is {config.VocabSize}");
        switch (tokenizer)
        {
            case Llama2cTokenizer llama2c:
                AddSentencePiece(writer, llama2c.Vocabulary(), llama2c.Name, config.VocabSize);
                break;
            case SentencePieceTextTokenizer spm:
                AddSentencePiece(writer, spm.Vocabulary ?? throw InputException.InField("--format", $"{spm.Name} is a SentencePiece Unigram model; GGUF export embeds SentencePiece BPE models only"),
                    spm.Name, config.VocabSize);
                break;
            case HfTokenizer hf:
                AddByteLevelBpe(writer, hf, config);
                break;
            default:
                throw InputException.InField("--format", $"GGUF export embeds llama2.c, SentencePiece BPE and byte-level BPE (tokenizer.json) vocabularies; this model's tokenizer is {tokenizer.Name}; export safetensors instead");
        }
    }

    /// <summary>The tokenizer a GGUF file's metadata describes ("llama" or "gpt2" models).</summary>
    public static ITextTokenizer Read(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var kind = file.Get<string>("tokenizer.ggml.model");
        return kind switch
        {
            "llama" => ReadSentencePiece(file),
            "gpt2" => ReadByteLevelBpe(file),
            _ => throw InputException.InFile(file.Path, $"tokenizer kind '{kind}' is not supported; Distillery reads SentencePiece-style ('llama') and byte-level BPE ('gpt2') GGUF vocabularies"),
        };
    }

    /// <summary>llama.cpp's name for a byte-level BPE tokenizer's pre-tokenizer, found by its split regex; null where llama.cpp knows none.</summary>
    public static string? PreTokenizerName(HfTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var regex = tokenizer.SplitRegex ?? HfTokenizer.Gpt2SplitRegex;
        return PreTokenizers.FirstOrDefault(kv => kv.Value == regex).Key;
    }

    private static void AddByteLevelBpe(GgufWriter writer, HfTokenizer tokenizer, LlamaConfig config)
    {
        var pre = PreTokenizerName(tokenizer)
                  ?? throw InputException.InField("--format", $"{tokenizer.Name} splits text with a regex llama.cpp has no pre-tokenizer for (it knows {string.Join(", ", PreTokenizers.Keys)}); export safetensors instead");
        var vocabSize = config.VocabSize;
        var tokens = new string[vocabSize];
        var types = new int[vocabSize];
        for (var id = 0; id < vocabSize; id++)
        {
            // Ids the tokenizer never produces (the embedding is padded to a round size) get llama.cpp's placeholder names.
            var token = tokenizer.TokenString(id);
            (tokens[id], types[id]) = token is null ? ($"[PAD{id}]", Unused)
                : tokenizer.IsControl(id) ? (token, Control)
                : tokenizer.IsAdded(id) ? (token, UserDefined)
                : (token, Normal);
        }
        writer.Add("tokenizer.ggml.model", "gpt2")
              .Add("tokenizer.ggml.pre", pre)
              .Add("tokenizer.ggml.tokens", tokens)
              .Add("tokenizer.ggml.token_type", types)
              .Add("tokenizer.ggml.merges", tokenizer.Merges)
              .Add("tokenizer.ggml.add_bos_token", tokenizer.BosId is not null)
              .Add("tokenizer.ggml.add_eos_token", false);
        if ((tokenizer.BosId ?? config.BosTokenId) is { } bos) writer.Add("tokenizer.ggml.bos_token_id", (uint)bos);
        var eos = config.EosTokenIds.Count > 0 ? config.EosTokenIds[0] : tokenizer.StopIds.Cast<int?>().FirstOrDefault();
        if (eos is { } e) writer.Add("tokenizer.ggml.eos_token_id", (uint)e);
    }

    private static HfTokenizer ReadByteLevelBpe(GgufFile file)
    {
        var tokens = file.GetArray<string>("tokenizer.ggml.tokens");
        var types = file.GetArray<int>("tokenizer.ggml.token_type");
        if (types.Length != tokens.Length)
            throw InputException.InFile(file.Path, $"has {tokens.Length} tokens but {types.Length} token types; the vocabulary is corrupt");
        var merges = file.GetArray<string>("tokenizer.ggml.merges");
        var pre = file.GetOr("tokenizer.ggml.pre", "gpt-2");
        if (pre == "default") pre = "gpt-2";
        if (!PreTokenizers.TryGetValue(pre, out var regex))
            throw InputException.InFile(file.Path, $"tokenizer.ggml.pre '{pre}' is not supported; Distillery reads {string.Join(", ", PreTokenizers.Keys)}");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var added = new List<(int, string, bool)>();
        for (var id = 0; id < tokens.Length; id++)
        {
            switch (types[id])
            {
                case Unused: break;
                case Control: added.Add((id, tokens[id], true)); break;
                case UserDefined: added.Add((id, tokens[id], false)); break;
                default: vocab.TryAdd(tokens[id], id); break;
            }
        }
        // Qwen2's tokenizer.json normalises to NFC; llama.cpp leaves that to the caller, Distillery applies it as transformers does.
        return HfTokenizer.FromParts(vocab, merges, added, regex, pre == "qwen2" ? NormalizationForm.FormC : null, file.Path);
    }

    /// <summary>
    /// A SentencePiece BPE vocabulary as model "llama": pieces, scores and token types, padded with unused placeholders up
    /// to the model's vocabulary. llama.cpp applies no Unicode normalisation or whitespace clean-up, so a model that asks for one is refused.
    /// </summary>
    private static void AddSentencePiece(GgufWriter writer, SentencePieceVocabulary vocabulary, string name, int vocabSize)
    {
        if (vocabulary.Nfkc || vocabulary.RemoveExtraWhitespace)
            throw InputException.InField("--format", $"{name} normalises text (NFKC or extra-whitespace removal), which llama.cpp's SentencePiece tokenizer does not do; export safetensors instead");
        var tokens = new string[vocabSize];
        var scores = new float[vocabSize];
        var types = new int[vocabSize];
        for (var id = 0; id < vocabSize; id++)
        {
            (tokens[id], scores[id], types[id]) = id < vocabulary.Pieces.Count
                ? (vocabulary.Pieces[id].Piece, vocabulary.Pieces[id].Score, (int)vocabulary.Pieces[id].Kind)
                : ($"[PAD{id}]", 0f, Unused);
        }
        writer.Add("tokenizer.ggml.model", "llama")
              .Add("tokenizer.ggml.tokens", tokens)
              .Add("tokenizer.ggml.scores", scores)
              .Add("tokenizer.ggml.token_type", types)
              .Add("tokenizer.ggml.add_bos_token", vocabulary.BosId >= 0)
              .Add("tokenizer.ggml.add_eos_token", false)
              .Add("tokenizer.ggml.add_space_prefix", vocabulary.AddDummyPrefix);
        if (vocabulary.UnknownId >= 0) writer.Add("tokenizer.ggml.unknown_token_id", (uint)vocabulary.UnknownId);
        if (vocabulary.BosId >= 0) writer.Add("tokenizer.ggml.bos_token_id", (uint)vocabulary.BosId);
        if (vocabulary.EosId >= 0) writer.Add("tokenizer.ggml.eos_token_id", (uint)vocabulary.EosId);
    }

    private static Llama2cTokenizer ReadSentencePiece(GgufFile file)
    {
        var tokens = file.GetArray<string>("tokenizer.ggml.tokens");
        var scores = file.GetArray<float>("tokenizer.ggml.scores");
        if (scores.Length != tokens.Length)
            throw InputException.InFile(file.Path, $"has {tokens.Length} tokens but {scores.Length} token scores; the vocabulary is corrupt");
        if (tokens.Length == 0) throw InputException.InFile(file.Path, "has an empty vocabulary (tokenizer.ggml.tokens)");
        // Rebuild the llama2.c tokenizer.bin layout: int32 max length, then per token float32 score, int32 length, bytes.
        using var bytes = new MemoryStream();
        using (var w = new BinaryWriter(bytes, Encoding.UTF8, leaveOpen: true))
        {
            var pieces = tokens.Select((t, id) => Encoding.UTF8.GetBytes(id switch
            {
                1 => "\n<s>\n",
                2 => "\n</s>\n",
                _ => t.Replace(SentencePieceSpace, " ", StringComparison.Ordinal),
            })).ToArray();
            w.Write(pieces.Max(p => p.Length));
            for (var id = 0; id < pieces.Length; id++)
            {
                w.Write(scores[id]);
                w.Write(pieces[id].Length);
                w.Write(pieces[id]);
            }
        }
        return Llama2cTokenizer.FromBytes(bytes.ToArray(), file.Path);
    }
}
