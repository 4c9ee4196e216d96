using System;
using System.Collections.Generic;

namespace Distillery.Models.Tokenizers;

/// <summary>A SentencePiece piece's role (sentencepiece_model.proto's <c>SentencePiece.Type</c>; llama.cpp's token types use the same numbers).</summary>
public enum SentencePieceKind
{
    /// <summary>Text that BPE merges into or out of.</summary>
    Normal = 1,

    /// <summary>The unknown piece.</summary>
    Unknown = 2,

    /// <summary>A control piece (BOS, EOS) that stands for no text.</summary>
    Control = 3,

    /// <summary>A piece matched whole in the text before BPE.</summary>
    UserDefined = 4,

    /// <summary>A piece the encoder never produces.</summary>
    Unused = 5,

    /// <summary>A byte-fallback piece <c>&lt;0xNN&gt;</c>.</summary>
    Byte = 6,
}

/// <summary>One piece of a SentencePiece-style vocabulary: its text (spaces as ▁), merge score and role.</summary>
public readonly record struct SentencePieceEntry(string Piece, float Score, SentencePieceKind Kind);

/// <summary>
/// A SentencePiece-style BPE vocabulary as a whole (llama2.c's <c>tokenizer.bin</c> or a <c>tokenizer.model</c>): the pieces
/// in id order and the rules around them, which the Hugging Face and GGUF exports both write out.
/// </summary>
public sealed record SentencePieceVocabulary(IReadOnlyList<SentencePieceEntry> Pieces)
{
    /// <summary>SentencePiece's whitespace mark (▁).</summary>
    public const char SpaceMark = '\u2581';

    /// <summary>Whether a ▁ is put before non-empty text (SentencePiece's add_dummy_prefix).</summary>
    public bool AddDummyPrefix { get; init; } = true;

    /// <summary>Whether characters without a piece fall back to byte pieces.</summary>
    public bool ByteFallback { get; init; } = true;

    /// <summary>Whether text gets Unicode NFKC first (the nfkc and nmt_nfkc rules).</summary>
    public bool Nfkc { get; init; }

    /// <summary>Whether spaces are trimmed at both ends and runs of them made one (remove_extra_whitespaces).</summary>
    public bool RemoveExtraWhitespace { get; init; }

    /// <summary>The unknown piece's id, or -1.</summary>
    public int UnknownId { get; init; } = -1;

    /// <summary>The BOS id, or -1.</summary>
    public int BosId { get; init; } = -1;

    /// <summary>The EOS id, or -1.</summary>
    public int EosId { get; init; } = -1;

    /// <summary>The piece text of an id, or null outside the vocabulary.</summary>
    public string? PieceOf(int id) => id >= 0 && id < Pieces.Count ? Pieces[id].Piece : null;

    /// <summary>A raw text piece with spaces written as ▁.</summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Replace(' ', SpaceMark);
    }
}
