using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Microsoft.ML.Tokenizers;

namespace Distillery.Models.Tokenizers;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> of the byte-level BPE kind (GPT-2, Llama 3, Qwen2, SmolLM), through
/// Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>. Other kinds are refused with a one-line error.
/// </summary>
public sealed class HfTokenizer : ITextTokenizer
{
    /// <summary>The file name a model folder stores this tokenizer under.</summary>
    public const string FileName = "tokenizer.json";

    // More ids than any real vocabulary: a corrupt id must not size the byte table.
    private const int MaxVocabulary = 1 << 24;

    // GPT-2's pre-tokenizer split, used where tokenizer.json names ByteLevel without its own regex.
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly BpeTokenizer bpe;
    private readonly byte[][] bytesOf;
    private readonly HashSet<int> special;
    private readonly string json;
    private readonly Regex specialSplit;
    private readonly Dictionary<string, int> specialIds;
    private readonly NormalizationForm? normalization;
    private readonly string[] tokenStrings;
    private readonly HashSet<int> control;

    private HfTokenizer(string json, string source)
    {
        this.json = json;
        Name = $"hf:{source}";
        JsonNode root;
        try
        {
            root = JsonNode.Parse(json) ?? throw InputException.InFile(source, "is empty");
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw InputException.InFile(source, $"is not valid JSON ({ErrorText.FirstLine(e)})");
        }
        // Malformed parts of a document (a number where an object belongs, an id out of range, a bad regex) surface from
        // System.Text.Json, the BPE builder and Regex as these exceptions; each is the file's fault, so each is one line naming it.
        try
        {
            var model = root["model"] ?? throw InputException.InFile(source, "field 'model' is missing; not a Hugging Face tokenizer.json");
            var type = model["type"]?.ToString();
            if (type != "BPE") throw InputException.InFile(source, $"model.type '{type}' is not supported; only byte-level BPE tokenizer.json files are");
            if (!IsByteLevel(root["pre_tokenizer"]) && !IsByteLevel(root["decoder"]))
                throw InputException.InFile(source, "pre_tokenizer is not ByteLevel; only byte-level BPE tokenizer.json files (GPT-2, Llama 3, Qwen2, SmolLM) are supported");
            normalization = UnicodeNormalization(root["normalizer"], source);
            var vocab = model["vocab"]?.AsObject().ToDictionary(kv => kv.Key, kv => (kv.Value ?? throw InputException.InFile(source, $"token '{kv.Key}' has no id")).GetValue<int>())
                        ?? throw InputException.InFile(source, "field 'model.vocab' is missing");
            var merges = (model["merges"]?.AsArray() ?? []).Select(m => m is JsonArray pair ? $"{pair[0]} {pair[1]}" : m?.ToString() ?? "").ToList();
            specialIds = new Dictionary<string, int>(StringComparer.Ordinal);
            control = [];
            foreach (var added in root["added_tokens"]?.AsArray() ?? [])
                if (added?["content"]?.ToString() is { } content && added["id"] is { } id)
                {
                    specialIds[content] = id.GetValue<int>();
                    if (added["special"]?.GetValue<bool>() == true) control.Add(id.GetValue<int>());
                }
            Merges = merges;
            SplitRegex = SplitPattern(root["pre_tokenizer"]);
            bpe = BpeTokenizer.Create(new BpeOptions(vocab)
            {
                Merges = merges,
                ByteLevel = true,
                PreTokenizer = new RegexPreTokenizer(new Regex(SplitRegex ?? Gpt2Pattern, RegexOptions.Compiled), null),
            });
            if (vocab.Values.Concat(specialIds.Values).Any(id => id is < 0 or >= MaxVocabulary))
                throw InputException.InFile(source, $"has a token id outside 0–{MaxVocabulary - 1:N0}; the file is corrupt");
            var size = Math.Max(vocab.Values.DefaultIfEmpty(0).Max(), specialIds.Values.DefaultIfEmpty(0).Max()) + 1;
            bytesOf = new byte[size][];
            tokenStrings = new string[size];
            foreach (var (token, id) in vocab) tokenStrings[id] = token;
            foreach (var (content, id) in specialIds) tokenStrings[id] = content;
            var unicodeToByte = ByteLevelAlphabet().ToDictionary(kv => kv.Value, kv => kv.Key);
            foreach (var (token, id) in vocab)
                bytesOf[id] = token.Select(ch => unicodeToByte.TryGetValue(ch, out var b) ? b : (byte)'?').ToArray();
            foreach (var (content, id) in specialIds) bytesOf[id] = System.Text.Encoding.UTF8.GetBytes(content);
            for (var i = 0; i < size; i++) bytesOf[i] ??= [];
            special = [.. specialIds.Values];
            specialSplit = specialIds.Count == 0 ? new Regex("(?!)") : new Regex(string.Join("|", specialIds.Keys.OrderByDescending(k => k.Length).Select(Regex.Escape)));
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException or KeyNotFoundException or IndexOutOfRangeException or OverflowException)
        {
            throw InputException.InFile(source, $"is not a valid tokenizer.json ({ErrorText.FirstLine(e)})");
        }
        StopIds = specialIds.Where(kv => kv.Key is "<|endoftext|>" or "<|im_end|>" or "<|end_of_text|>" or "<|eot_id|>" or "</s>").Select(kv => kv.Value).ToArray();
        BosId = specialIds.Where(kv => kv.Key is "<|begin_of_text|>" or "<s>").Select(kv => (int?)kv.Value).FirstOrDefault();
    }

    /// <summary>Reads and checks a tokenizer.json file.</summary>
    public static async Task<HfTokenizer> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw InputException.InFile(path, "not found");
        return new HfTokenizer(await File.ReadAllTextAsync(path, cancellationToken), path);
    }

    /// <summary>Parses tokenizer.json text.</summary>
    public static HfTokenizer Parse(string json, string source = FileName)
    {
        ArgumentNullException.ThrowIfNull(json);
        return new HfTokenizer(json, source);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int VocabSize => bytesOf.Length;

    /// <inheritdoc />
    public int? BosId { get; }

    /// <inheritdoc />
    public IReadOnlyCollection<int> StopIds { get; }

    /// <inheritdoc />
    public bool IsSpecial(int id) => special.Contains(id);

    /// <summary>Whether id is an added token marked <c>special</c> (a control token such as <c>&lt;|im_end|&gt;</c>), not a user-defined one such as <c>&lt;tool_call&gt;</c>.</summary>
    public bool IsControl(int id) => control.Contains(id);

    /// <summary>Whether id is an added token (matched whole in text before BPE), special or not.</summary>
    public bool IsAdded(int id) => special.Contains(id);

    /// <summary>The token as tokenizer.json spells it: byte-level characters for vocabulary tokens, the text for added ones; null for an unused id.</summary>
    public string? TokenString(int id) => (uint)id < (uint)tokenStrings.Length ? tokenStrings[id] : null;

    /// <summary>The BPE merges, each "left right" in byte-level characters, highest priority first.</summary>
    public IReadOnlyList<string> Merges { get; }

    /// <summary>The pre-tokenizer's split regex, or null where tokenizer.json has none (GPT-2's is used then).</summary>
    public string? SplitRegex { get; }

    /// <summary>The Unicode normal form applied before splitting (Qwen2/3: NFC), or null.</summary>
    public NormalizationForm? Normalization => normalization;

    /// <summary>GPT-2's pre-tokenizer split regex, used where tokenizer.json names none.</summary>
    public static string Gpt2SplitRegex => Gpt2Pattern;

    /// <summary>
    /// A tokenizer.json of the byte-level BPE kind built from its parts (the inverse of <see cref="TokenString"/>,
    /// <see cref="Merges"/>, <see cref="SplitRegex"/> and <see cref="Normalization"/>); <paramref name="added"/> maps
    /// added tokens' ids to whether they are special.
    /// </summary>
    public static HfTokenizer FromParts(IReadOnlyDictionary<string, int> vocab, IReadOnlyList<string> merges, IReadOnlyList<(int Id, string Content, bool Special)> added,
        string? splitRegex, NormalizationForm? normalization, string source)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        ArgumentNullException.ThrowIfNull(merges);
        ArgumentNullException.ThrowIfNull(added);
        var pretokenizers = new JsonArray();
        if (splitRegex is not null)
            pretokenizers.Add(new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = splitRegex }, ["behavior"] = "Isolated", ["invert"] = false });
        pretokenizers.Add(new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = splitRegex is null });
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(added.Select(a => (JsonNode)new JsonObject
            {
                ["id"] = a.Id, ["content"] = a.Content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = a.Special,
            }).ToArray()),
            ["normalizer"] = normalization switch
            {
                NormalizationForm.FormC => new JsonObject { ["type"] = "NFC" },
                NormalizationForm.FormD => new JsonObject { ["type"] = "NFD" },
                NormalizationForm.FormKC => new JsonObject { ["type"] = "NFKC" },
                NormalizationForm.FormKD => new JsonObject { ["type"] = "NFKD" },
                _ => null,
            },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "Sequence", ["pretokenizers"] = pretokenizers },
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["vocab"] = new JsonObject(vocab.OrderBy(kv => kv.Value).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
                ["merges"] = new JsonArray(merges.Select(m => (JsonNode?)m).ToArray()),
            },
        };
        return new HfTokenizer(root.ToJsonString(), source);
    }

    /// <inheritdoc />
    public string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return normalization is { } form && !text.IsNormalized(form) ? text.Normalize(form) : text;
    }

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text, bool addBos = false)
    {
        // The normaliser leaves added tokens' ASCII text as it is, so normalising first and splitting after is the same.
        text = Normalize(text);
        var ids = new List<int>();
        if (addBos && BosId is { } bos) ids.Add(bos);
        // Added tokens (chat markers) are matched whole before BPE sees the text between them.
        var at = 0;
        foreach (Match m in specialSplit.Matches(text))
        {
            if (m.Index > at) ids.AddRange(bpe.EncodeToIds(text[at..m.Index]));
            ids.Add(specialIds[m.Value]);
            at = m.Index + m.Length;
        }
        if (at < text.Length) ids.AddRange(bpe.EncodeToIds(text[at..]));
        return ids;
    }

    /// <inheritdoc />
    public ReadOnlySpan<byte> TokenBytes(int id) => bytesOf[id];

    /// <inheritdoc />
    public ReadOnlySpan<byte> DecodeStep(int previousId, int id) => bytesOf[id];

    /// <inheritdoc />
    public string Decode(IReadOnlyList<int> ids, int previousId = -1) => TokenizerText.Decode(this, ids, previousId);

    /// <inheritdoc />
    public Task SaveToFolderAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        return File.WriteAllTextAsync(Path.Combine(directory, FileName), json, cancellationToken);
    }

    /// <summary>GPT-2's byte ↔ printable-character alphabet that byte-level vocabularies are written in.</summary>
    public static IReadOnlyDictionary<byte, char> ByteLevelAlphabet()
    {
        var map = new Dictionary<byte, char>();
        var extra = 0;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[(byte)b] = printable ? (char)b : (char)(256 + extra++);
        }
        return map;
    }

    private static bool IsByteLevel(JsonNode? node) => node is not null &&
        (node["type"]?.ToString() == "ByteLevel" || (node["pretokenizers"] ?? node["decoders"])?.AsArray().Any(IsByteLevel) == true);

    /// <summary>The Unicode normal form that tokenizer.json's normaliser applies (Qwen2/3: NFC), or null for none.</summary>
    private static NormalizationForm? UnicodeNormalization(JsonNode? node, string source)
    {
        if (node is null) return null;
        var type = node["type"]?.ToString();
        if (type == "Sequence")
        {
            var forms = (node["normalizers"]?.AsArray() ?? []).Select(n => UnicodeNormalization(n, source)).Where(f => f is not null).ToList();
            return forms.Count switch
            {
                0 => null,
                1 => forms[0],
                _ => throw InputException.InFile(source, "normalizer applies more than one Unicode normal form; not supported"),
            };
        }
        return type switch
        {
            "NFC" => NormalizationForm.FormC,
            "NFD" => NormalizationForm.FormD,
            "NFKC" => NormalizationForm.FormKC,
            "NFKD" => NormalizationForm.FormKD,
            _ => throw InputException.InFile(source, $"normalizer '{type}' is not supported; only the Unicode normal forms (NFC, NFD, NFKC, NFKD) are"),
        };
    }

    private static string? SplitPattern(JsonNode? node)
    {
        if (node is null) return null;
        if (node["type"]?.ToString() == "Split") return node["pattern"]?["Regex"]?.ToString();
        return node["pretokenizers"]?.AsArray().Select(SplitPattern).FirstOrDefault(p => p is not null);
    }
}
