using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Microsoft.ML.Tokenizers;

namespace Distillery.Models.Tokenizers;

/// <summary>
/// A SentencePiece <c>tokenizer.model</c> (BPE or Unigram) through Microsoft.ML.Tokenizers' <see cref="SentencePieceTokenizer"/>,
/// with each token's bytes: <c>▁</c> is a space, <c>&lt;0xNN&gt;</c> byte-fallback pieces are their one byte, and control
/// pieces (&lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;) stand for no text. Microsoft.ML.Tokenizers skips a model's precompiled
/// normalisation map, so an <c>nmt_nfkc</c>/<c>nfkc</c> model gets Unicode NFKC here before encoding (SentencePiece's few
/// extra NMT rules, such as dropping control characters, are not applied); other non-identity rules are refused.
/// </summary>
public sealed class SentencePieceTextTokenizer : ITextTokenizer
{
    /// <summary>The file name a model folder stores this tokenizer under.</summary>
    public const string FileName = "tokenizer.model";

    private const char SpaceMark = '\u2581';
    private readonly SentencePieceTokenizer spm;
    private readonly byte[][] bytesOf;
    private readonly HashSet<int> special;
    private readonly byte[] fileBytes;
    private readonly bool nfkc;
    private readonly bool removeExtraWhitespace;

    private SentencePieceTextTokenizer(byte[] fileBytes, string source)
    {
        this.fileBytes = fileBytes;
        Name = $"spm:{Path.GetFileName(source)}";
        try
        {
            using var stream = new MemoryStream(fileBytes, writable: false);
            spm = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw InputException.InFile(source, $"is not a SentencePiece model ({ErrorText.FirstLine(e)})");
        }
        string? rule;
        try
        {
            rule = SentencePieceModelFile.NormalizerName(fileBytes);
        }
        catch (FormatException e)
        {
            throw InputException.InFile(source, $"is not a SentencePiece model ({e.Message})");
        }
        if (spm.TreatWhitespaceAsSuffix) throw InputException.InFile(source, "puts whitespace after pieces (treat_whitespace_as_suffix); not supported");
        removeExtraWhitespace = spm.Normalizer is SentencePieceNormalizer { RemoveExtraWhiteSpaces: true };
        nfkc = rule switch
        {
            null or "" or "identity" => false,
            "nfkc" or "nmt_nfkc" => true,
            _ => throw InputException.InFile(source, $"normalisation rule '{rule}' is not supported; identity, nfkc and nmt_nfkc are"),
        };
        special = [.. new[] { spm.UnknownId, spm.BeginningOfSentenceId, spm.EndOfSentenceId }.Where(id => id >= 0)];
        if (spm.SpecialTokens is { } specials) special.UnionWith(specials.Values);
        var size = Math.Max(spm.Vocabulary.Values.DefaultIfEmpty(-1).Max(), special.DefaultIfEmpty(-1).Max()) + 1;
        bytesOf = new byte[size][];
        foreach (var (piece, id) in spm.Vocabulary)
            bytesOf[id] = special.Contains(id) ? [] : ByteOf(piece) is { } b ? [b] : Encoding.UTF8.GetBytes(piece.Replace(SpaceMark, ' '));
        for (var i = 0; i < size; i++) bytesOf[i] ??= [];
        BosId = spm.BeginningOfSentenceId >= 0 ? spm.BeginningOfSentenceId : null;
        if (SentencePieceModelFile.BpePieces(fileBytes) is { } pieces)
            Vocabulary = new SentencePieceVocabulary(pieces)
            {
                AddDummyPrefix = spm.AddDummyPrefix,
                ByteFallback = spm.ByteFallback,
                Nfkc = nfkc,
                RemoveExtraWhitespace = removeExtraWhitespace,
                UnknownId = spm.UnknownId,
                BosId = spm.BeginningOfSentenceId,
                EosId = spm.EndOfSentenceId,
            };
        StopIds = spm.EndOfSentenceId >= 0 ? [spm.EndOfSentenceId] : [];
    }

    /// <summary>Reads a tokenizer.model file.</summary>
    public static async Task<SentencePieceTextTokenizer> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw InputException.InFile(path, "not found");
        return new SentencePieceTextTokenizer(await File.ReadAllBytesAsync(path, cancellationToken), path);
    }

    /// <summary>Parses tokenizer.model bytes.</summary>
    public static SentencePieceTextTokenizer FromBytes(byte[] bytes, string source = FileName)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return new SentencePieceTextTokenizer(bytes, source);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int VocabSize => bytesOf.Length;

    /// <inheritdoc />
    public int? BosId { get; }

    /// <inheritdoc />
    public IReadOnlyCollection<int> StopIds { get; }

    /// <summary>The pieces with their scores and types and the encoding rules, for exports; null for a model that is not BPE (Unigram).</summary>
    public SentencePieceVocabulary? Vocabulary { get; }

    /// <summary>Whether the model falls back to byte pieces for characters it has no piece for.</summary>
    public bool ByteFallback => spm.ByteFallback;

    /// <inheritdoc />
    public bool IsSpecial(int id) => special.Contains(id);

    /// <inheritdoc />
    public string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var normalized = Normalized(text);
        return normalized == text ? text : normalized;
    }

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text, bool addBos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        // The text is normalised here rather than by Microsoft.ML.Tokenizers, whose normaliser (2.0.1) drops a text that
        // is one character once extra whitespace is removed (" a" gives no tokens); the encoder then takes it as it is.
        var normalized = Normalized(text);
        var escaped = spm.EscapeWhiteSpaces ? normalized.Replace(' ', SpaceMark) : normalized;
        if (spm.AddDummyPrefix && escaped.Length > 0) escaped = (spm.EscapeWhiteSpaces ? SpaceMark : ' ') + escaped;
        return spm.EncodeToIds(escaped, addBeginningOfSentence: addBos && BosId is not null, addEndOfSentence: false, considerNormalization: false);
    }

    /// <inheritdoc />
    public ReadOnlySpan<byte> TokenBytes(int id) => bytesOf[id];

    /// <inheritdoc />
    public ReadOnlySpan<byte> DecodeStep(int previousId, int id)
    {
        var bytes = bytesOf[id];
        // SentencePiece drops the dummy-prefix space of the first piece of a text (at the start, or after BOS).
        var atStart = previousId < 0 || previousId == BosId;
        return atStart && spm.AddDummyPrefix && bytes.Length > 0 && bytes[0] == (byte)' ' && !IsByteToken(id) ? bytes.AsSpan(1) : bytes;
    }

    /// <inheritdoc />
    public string Decode(IReadOnlyList<int> ids, int previousId = -1) => TokenizerText.Decode(this, ids, previousId);

    /// <inheritdoc />
    public Task SaveToFolderAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        return File.WriteAllBytesAsync(Path.Combine(directory, FileName), fileBytes, cancellationToken);
    }

    /// <summary>
    /// The text as the model's normaliser leaves it, before spaces become ▁ and the dummy prefix is added: the Unicode
    /// normal form its rule asks for (which Microsoft.ML.Tokenizers does not apply), then, where the model removes extra
    /// whitespace, spaces trimmed at both ends and runs of them made one.
    /// </summary>
    private string Normalized(string text)
    {
        var normalized = nfkc && !text.IsNormalized(NormalizationForm.FormKC) ? text.Normalize(NormalizationForm.FormKC) : text;
        if (!removeExtraWhitespace) return normalized;
        var sb = new StringBuilder(normalized.Length);
        foreach (var ch in normalized.AsSpan().Trim(' '))
            if (ch != ' ' || sb.Length == 0 || sb[^1] != ' ') sb.Append(ch);
        return sb.ToString();
    }

    private bool IsByteToken(int id) => spm.ByteFallback && bytesOf[id].Length == 1 && spm.Vocabulary.TryGetValue($"<0x{bytesOf[id][0]:X2}>", out var b) && b == id;

    private static byte? ByteOf(string piece) =>
        piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>' &&
        byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out var b) ? b : null;
}
