using System;
using System.IO;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;

namespace Distillery.Models.Tokenizers;

/// <summary>Finds and loads a tokenizer from a file, a model folder, or a spec such as <c>tiktoken:o200k_base</c>.</summary>
public static class TokenizerLoader
{
    /// <summary>
    /// Loads from <c>tiktoken:NAME</c>, a llama2.c <c>.bin</c>, a <c>tokenizer.json</c>, a SentencePiece <c>.model</c>,
    /// a <c>tiktoken.json</c>, or a folder holding one of those (tokenizer.model, tokenizer.bin, tokenizer.json, tiktoken.json, in that order).
    /// </summary>
    public static async Task<ITextTokenizer> LoadAsync(string spec, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        if (spec.StartsWith("tiktoken:", StringComparison.Ordinal)) return TiktokenTextTokenizer.Create(spec["tiktoken:".Length..]);
        if (Directory.Exists(spec))
        {
            // A SentencePiece or llama2.c file comes before tokenizer.json: folders that hold both (Llama 2, Gemma, Distillery's
            // own exports) describe them in a tokenizer.json of the non-byte-level kind, which the native file encodes exactly.
            foreach (var name in new[] { SentencePieceTextTokenizer.FileName, Llama2cTokenizer.FileName, HfTokenizer.FileName, TiktokenTextTokenizer.FileName })
            {
                var candidate = Path.Combine(spec, name);
                if (File.Exists(candidate)) return await LoadAsync(candidate, cancellationToken);
            }
            throw InputException.InFile(spec, $"holds no tokenizer ({SentencePieceTextTokenizer.FileName}, {Llama2cTokenizer.FileName}, {HfTokenizer.FileName} or {TiktokenTextTokenizer.FileName}); give one with --tokenizer");
        }
        if (!File.Exists(spec)) throw InputException.InFile(spec, "tokenizer not found; give a tokenizer file, a model folder or tiktoken:o200k_base");
        var fileName = Path.GetFileName(spec);
        if (fileName.Equals(TiktokenTextTokenizer.FileName, StringComparison.OrdinalIgnoreCase))
            return TiktokenTextTokenizer.Create(await ReadTiktokenEncodingAsync(spec, cancellationToken));
        if (spec.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) return await HfTokenizer.LoadAsync(spec, cancellationToken);
        if (spec.EndsWith(".model", StringComparison.OrdinalIgnoreCase)) return await SentencePieceTextTokenizer.LoadAsync(spec, cancellationToken);
        return await Llama2cTokenizer.LoadAsync(spec, cancellationToken);
    }

    /// <summary>The encoding a <c>tiktoken.json</c> names; a file that is not such an object is an <see cref="InputException"/>.</summary>
    private static async Task<string> ReadTiktokenEncodingAsync(string path, CancellationToken cancellationToken)
    {
        const string Example = "write {\"encoding\": \"o200k_base\"}";
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(await File.ReadAllTextAsync(path, cancellationToken));
        }
        catch (JsonException e)
        {
            throw InputException.InFile(path, $"is not JSON ({ErrorText.FirstLine(e)}); {Example}");
        }
        using (doc)
        {
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("encoding", out var e) && e.ValueKind == JsonValueKind.String
                ? e.GetString()!
                : throw InputException.InFile(path, $"field 'encoding' is missing; {Example}");
        }
    }
}
