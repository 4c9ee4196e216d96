using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;

namespace Distillery.Models.Tokenizers;

/// <summary>
/// Reads what Microsoft.ML.Tokenizers does not expose from a SentencePiece <c>tokenizer.model</c> (a ModelProto, see
/// sentencepiece_model.proto): the name of its normalisation rule (<c>normalizer_spec.name</c>, field 3 → field 1), and
/// each piece's score and type (<c>pieces</c>, field 1), which the Hugging Face and GGUF exports write out.
/// </summary>
internal static class SentencePieceModelFile
{
    private const int PiecesField = 1, TrainerSpecField = 2, NormalizerSpecField = 3, NameField = 1;
    private const int PieceTextField = 1, PieceScoreField = 2, PieceTypeField = 3, ModelTypeField = 3, BpeModelType = 2;

    /// <summary>The pieces in id order with their scores and types; null where the model is not BPE (Unigram, word, char).</summary>
    public static IReadOnlyList<SentencePieceEntry>? BpePieces(ReadOnlySpan<byte> model)
    {
        var trainer = FindField(model, TrainerSpecField);
        // model_type defaults to UNIGRAM (1) where the trainer spec leaves it out.
        if (trainer is null || FindVarint(trainer, ModelTypeField) != BpeModelType) return null;
        var pieces = new List<SentencePieceEntry>();
        foreach (var piece in RepeatedField(model, PiecesField))
        {
            var text = FindField(piece, PieceTextField) is { } t ? Encoding.UTF8.GetString(t) : "";
            var score = FindFixed32(piece, PieceScoreField) is { } s ? BitConverter.Int32BitsToSingle((int)s) : 0f;
            var type = FindVarint(piece, PieceTypeField) is { } k && Enum.IsDefined((SentencePieceKind)(int)k) ? (SentencePieceKind)(int)k : SentencePieceKind.Normal;
            pieces.Add(new SentencePieceEntry(text, score, type));
        }
        return pieces;
    }

    /// <summary>The normalisation rule's name (<c>identity</c>, <c>nmt_nfkc</c>, …), or null where the file names none.</summary>
    public static string? NormalizerName(ReadOnlySpan<byte> model) =>
        FindField(model, NormalizerSpecField) is { } spec && FindField(spec, NameField) is { } name ? Encoding.UTF8.GetString(name) : null;

    /// <summary>The payload of the first length-delimited field with this number, or null; other fields are skipped by wire type.</summary>
    private static byte[]? FindField(ReadOnlySpan<byte> message, int field)
    {
        var at = 0;
        while (at < message.Length)
        {
            var tag = ReadVarint(message, ref at);
            var wireType = (int)(tag & 7);
            switch (wireType)
            {
                case 0: ReadVarint(message, ref at); break;
                case 1: at += 8; break;
                case 5: at += 4; break;
                case 2:
                    var length = (int)ReadVarint(message, ref at);
                    if (length < 0 || at + length > message.Length) throw new FormatException("a field runs past the end of the message");
                    if ((int)(tag >> 3) == field) return message.Slice(at, length).ToArray();
                    at += length;
                    break;
                default: throw new FormatException($"wire type {wireType} is not a protobuf wire type this reader knows");
            }
        }
        return null;
    }

    /// <summary>Every length-delimited payload with this field number, in order.</summary>
    private static List<byte[]> RepeatedField(ReadOnlySpan<byte> message, int field)
    {
        var found = new List<byte[]>();
        Walk(message, (number, wireType, payload, value) =>
        {
            if (number == field && wireType == 2) found.Add(payload.ToArray());
        });
        return found;
    }

    /// <summary>The last varint with this field number (protobuf's rule for a repeated scalar read as one), or null.</summary>
    private static ulong? FindVarint(ReadOnlySpan<byte> message, int field)
    {
        ulong? found = null;
        Walk(message, (number, wireType, _, value) =>
        {
            if (number == field && wireType == 0) found = value;
        });
        return found;
    }

    /// <summary>The last 32-bit fixed field with this number, as its raw bits, or null.</summary>
    private static uint? FindFixed32(ReadOnlySpan<byte> message, int field)
    {
        uint? found = null;
        Walk(message, (number, wireType, _, value) =>
        {
            if (number == field && wireType == 5) found = (uint)value;
        });
        return found;
    }

    private delegate void FieldVisitor(int number, int wireType, ReadOnlySpan<byte> payload, ulong value);

    /// <summary>Visits each field of a message: varints and fixed32s with their value, length-delimited ones with their payload.</summary>
    private static void Walk(ReadOnlySpan<byte> message, FieldVisitor visit)
    {
        var at = 0;
        while (at < message.Length)
        {
            var tag = ReadVarint(message, ref at);
            var number = (int)(tag >> 3);
            var wireType = (int)(tag & 7);
            switch (wireType)
            {
                case 0: visit(number, 0, [], ReadVarint(message, ref at)); break;
                case 1: Need(message, at, 8); at += 8; break;
                case 5:
                    Need(message, at, 4);
                    visit(number, 5, [], BinaryPrimitives.ReadUInt32LittleEndian(message.Slice(at, 4)));
                    at += 4;
                    break;
                case 2:
                    var length = (int)ReadVarint(message, ref at);
                    Need(message, at, length);
                    visit(number, 2, message.Slice(at, length), 0);
                    at += length;
                    break;
                default: throw new FormatException($"wire type {wireType} is not a protobuf wire type this reader knows");
            }
        }
    }

    private static void Need(ReadOnlySpan<byte> message, int at, int length)
    {
        if (length < 0 || at + length > message.Length) throw new FormatException("a field runs past the end of the message");
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> message, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (at >= message.Length) throw new FormatException("a varint runs past the end of the message");
            var b = message[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new FormatException("a varint is longer than 10 bytes");
    }
}
