using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;

namespace Distillery.TestSupport.Tokenizers;

/// <summary>The tokenizers the tests read: the real ones in ../shared/data/tokenizers and the committed ones in tests/data/tokenizers.</summary>
public static class TokenizerData
{
    /// <summary>The shared folder that holds the real tokenizers (the skip condition of tests that need them).</summary>
    public const string SharedFolder = "tokenizers";

    /// <summary>The real tokenizers' folder names.</summary>
    public static readonly string[] RealNames = ["gpt-4o", "qwen3", "llama-3.1"];

    /// <summary>Loads a real tokenizer.json by folder name.</summary>
    public static Task<HfTokenizer> LoadRealAsync(string name) =>
        HfTokenizer.LoadAsync(SharedTestData.TryGet($"{SharedFolder}/{name}/{HfTokenizer.FileName}")
                              ?? throw new FileNotFoundException($"shared data '{SharedFolder}/{name}' not found"));

    /// <summary>The stories260K tokenizer (llama2.c tok512.bin) in the shared folder.</summary>
    public const string Tok512 = "stories260K/tok512.bin";

    /// <summary>Loads llama2.c's tok512, the stories260K tokenizer.</summary>
    public static Task<Llama2cTokenizer> LoadTok512Async() =>
        Llama2cTokenizer.LoadAsync(SharedTestData.TryGet(Tok512) ?? throw new FileNotFoundException($"shared data '{Tok512}' not found"));

    /// <summary>Loads the committed 1,024-piece SentencePiece BPE student tokenizer.</summary>
    public static Task<SentencePieceTextTokenizer> LoadSpm1024Async() => SentencePieceTextTokenizer.LoadAsync(Committed("spm-bpe-1024/tokenizer.model"));

    /// <summary>Real text that tokenizers disagree on: English, code, digits, whitespace runs, emoji, CJK, accents.</summary>
    public const string MixedText =
        "Once upon a time, Lily found 1234567 shiny stones (3.14 each!).\n\n\n    def f(x):\n\treturn x**2  # square\n" +
        "Emoji: 🙂👍🏽 👨‍👩‍👧 — 東京は日本の首都です。한국어 naïve café Ångström \"quoted\"   trailing   \r\n";

    /// <summary>Every tokenizer the alignment's tests use: tok512, the SPM-1024 model and the three real ones.</summary>
    public static async Task<List<ITextTokenizer>> AllAsync()
    {
        var all = new List<ITextTokenizer> { await LoadTok512Async(), await LoadSpm1024Async() };
        foreach (var name in RealNames) all.Add(await LoadRealAsync(name));
        return all;
    }

    /// <summary>A byte-level BPE whose vocabulary holds only the letters a–z: it cannot encode a space or a digit.</summary>
    public static HfTokenizer LettersOnly()
    {
        var alphabet = HfTokenizer.ByteLevelAlphabet();
        var vocab = new JsonObject();
        for (var b = (byte)'a'; b <= 'z'; b++) vocab[alphabet[b].ToString()] = b - 'a';
        return HfTokenizer.Parse(new JsonObject
        {
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray() },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel" },
        }.ToJsonString(), "letters/tokenizer.json");
    }

    /// <summary>A file committed under tests/data/tokenizers, as copied beside the test assembly.</summary>
    public static string Committed(string relativePath) => Path.Combine(AppContext.BaseDirectory, "data", "tokenizers", relativePath);
}
