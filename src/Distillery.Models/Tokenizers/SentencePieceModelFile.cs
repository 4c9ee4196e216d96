using System;
using System.Text;

namespace Distillery.Models.Tokenizers;

/// <summary>
/// Reads what Microsoft.ML.Tokenizers does not expose from a SentencePiece <c>tokenizer.model</c> (a ModelProto, see
/// sentencepiece_model.proto): the name of its normalisation rule (<c>normalizer_spec.name</c>, field 3 → field 1).
/// </summary>
internal static class SentencePieceModelFile
{
    private const int NormalizerSpecField = 3, NameField = 1;

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
