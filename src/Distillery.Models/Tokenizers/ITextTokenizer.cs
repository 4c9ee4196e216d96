using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Distillery.Models.Tokenizers;

/// <summary>Text ↔ token ids for one model's vocabulary, with each token's raw bytes (to match API top-k tokens by bytes).</summary>
public interface ITextTokenizer
{
    /// <summary>A short description: the kind and the source (e.g. <c>tiktoken:o200k_base</c>).</summary>
    string Name { get; }

    /// <summary>The number of ids this tokenizer can produce.</summary>
    int VocabSize { get; }

    /// <summary>The beginning-of-sequence id, where the tokenizer has one.</summary>
    int? BosId { get; }

    /// <summary>Ids that end a generated sequence (EOS and its kin).</summary>
    IReadOnlyCollection<int> StopIds { get; }

    /// <summary>The text as the tokenizer's normaliser leaves it before splitting it (e.g. Unicode NFC); most tokenizers leave it unchanged.</summary>
    string Normalize(string text) => text;

    /// <summary>Encodes text; with <paramref name="addBos"/>, BOS comes first where the tokenizer has one.</summary>
    IReadOnlyList<int> Encode(string text, bool addBos = false);

    /// <summary>The raw bytes this token stands for in text (byte-fallback tokens give their single byte).</summary>
    ReadOnlySpan<byte> TokenBytes(int id);

    /// <summary>The bytes id adds to the text when it follows <paramref name="previousId"/> (-1 at the start); special tokens add none.</summary>
    ReadOnlySpan<byte> DecodeStep(int previousId, int id);

    /// <summary>Decodes ids to text as a continuation of <paramref name="previousId"/> (-1: from the start).</summary>
    string Decode(IReadOnlyList<int> ids, int previousId = -1);

    /// <summary>Whether id is a control token (BOS, EOS, chat markers) rather than text.</summary>
    bool IsSpecial(int id);

    /// <summary>Writes the files that let <see cref="TokenizerLoader"/> load this tokenizer from a model folder.</summary>
    Task SaveToFolderAsync(string directory, CancellationToken cancellationToken = default);
}
