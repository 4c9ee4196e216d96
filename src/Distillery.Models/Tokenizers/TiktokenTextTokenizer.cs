using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Reflection;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Microsoft.ML.Tokenizers;

namespace Distillery.Models.Tokenizers;

/// <summary>OpenAI's tiktoken encodings (o200k_base, cl100k_base) through Microsoft.ML.Tokenizers, with each token's bytes.</summary>
public sealed class TiktokenTextTokenizer : ITextTokenizer
{
    /// <summary>The file a model folder uses to name its tiktoken encoding: <c>{"encoding": "o200k_base"}</c>.</summary>
    public const string FileName = "tiktoken.json";

    private static readonly Dictionary<string, string> DataAssemblies = new(StringComparer.Ordinal)
    {
        ["o200k_base"] = "Microsoft.ML.Tokenizers.Data.O200kBase",
        ["cl100k_base"] = "Microsoft.ML.Tokenizers.Data.Cl100kBase",
    };

    private readonly TiktokenTokenizer tokenizer;
    private readonly byte[][] bytesOf;
    private readonly HashSet<int> special;

    private TiktokenTextTokenizer(string encoding)
    {
        Encoding = encoding;
        tokenizer = TiktokenTokenizer.CreateForEncoding(encoding);
        var ranks = ReadRanks(encoding);
        IReadOnlyDictionary<string, int> specials = tokenizer.SpecialTokens ?? new Dictionary<string, int>();
        var size = Math.Max(ranks.Count == 0 ? 0 : ranks.Keys.Max() + 1, specials.Values.DefaultIfEmpty(0).Max() + 1);
        bytesOf = new byte[size][];
        foreach (var (id, b) in ranks) bytesOf[id] = b;
        foreach (var (text, id) in specials) bytesOf[id] = System.Text.Encoding.UTF8.GetBytes(text);
        for (var i = 0; i < size; i++) bytesOf[i] ??= []; // unused ids in the encoding's range
        special = [.. specials.Values];
        StopIds = specials.TryGetValue("<|endoftext|>", out var eot) ? [eot] : [];
    }

    /// <summary>The encoding's name.</summary>
    public string Encoding { get; }

    /// <summary>Creates the tokenizer for a named encoding; the names offered are o200k_base and cl100k_base.</summary>
    public static TiktokenTextTokenizer Create(string encoding)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        if (!DataAssemblies.ContainsKey(encoding))
            throw InputException.InField("tokenizer", $"tiktoken encoding '{encoding}' is not available; use one of {string.Join(", ", DataAssemblies.Keys)}");
        return new TiktokenTextTokenizer(encoding);
    }

    /// <inheritdoc />
    public string Name => $"tiktoken:{Encoding}";

    /// <inheritdoc />
    public int VocabSize => bytesOf.Length;

    /// <inheritdoc />
    public int? BosId => null;

    /// <inheritdoc />
    public IReadOnlyCollection<int> StopIds { get; }

    /// <inheritdoc />
    public bool IsSpecial(int id) => special.Contains(id);

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text, bool addBos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        return tokenizer.EncodeToIds(text);
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
        return File.WriteAllTextAsync(Path.Combine(directory, FileName), JsonSerializer.Serialize(new { encoding = Encoding }) + "\n", cancellationToken);
    }

    /// <summary>Reads the encoding's rank file (one base64 token a line, in rank order) from its data package, for the bytes of each id.</summary>
    private static Dictionary<int, byte[]> ReadRanks(string encoding)
    {
        var assembly = Assembly.Load(DataAssemblies[encoding]);
        var resource = assembly.GetManifestResourceNames().FirstOrDefault(n => n.StartsWith(encoding, StringComparison.Ordinal))
                       ?? throw new DistilleryException($"the tiktoken data package for {encoding} holds no rank file; reinstall Microsoft.ML.Tokenizers.Data");
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using Stream data = resource.EndsWith(".deflate", StringComparison.Ordinal) ? new DeflateStream(stream, CompressionMode.Decompress) : stream;
        using var reader = new StreamReader(data, System.Text.Encoding.UTF8);
        var ranks = new Dictionary<int, byte[]>();
        var next = 0;
        while (reader.ReadLine() is { } line)
        {
            // The packaged files open with "Capacity: N"; then "base64" lines ranked by position, or "base64 rank".
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal)) continue;
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var rank = space > 0 ? int.Parse(line.AsSpan(space + 1), System.Globalization.CultureInfo.InvariantCulture) : next;
            ranks[rank] = Convert.FromBase64String(space > 0 ? line[..space] : line);
            next = rank + 1;
        }
        return ranks;
    }
}
