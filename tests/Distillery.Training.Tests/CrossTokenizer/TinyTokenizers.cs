using System;
using System.IO;
using System.Text;
using Distillery.Models.Tokenizers;

namespace Distillery.Training.Tests.CrossTokenizer;

/// <summary>Small real llama2.c tokenizers (control tokens, 256 byte tokens, then the given pieces), written as tokenizer.bin bytes.</summary>
internal static class TinyTokenizers
{
    /// <summary>A tokenizer whose pieces after the bytes are <paramref name="pieces"/>; later pieces merge first.</summary>
    public static Llama2cTokenizer With(params string[] pieces)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(16);
            void Piece(string text, float score)
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                writer.Write(score);
                writer.Write(bytes.Length);
                writer.Write(bytes);
            }
            Piece("<unk>", 0); Piece("<s>", 0); Piece("</s>", 0);
            for (var b = 0; b < 256; b++) Piece($"<0x{b:X2}>", 0);
            for (var i = 0; i < pieces.Length; i++) Piece(pieces[i], i + 1);
        }
        return Llama2cTokenizer.FromBytes(stream.ToArray(), "tiny.bin");
    }

    /// <summary>The id of a piece (after the 259 control and byte tokens).</summary>
    public static int Id(Llama2cTokenizer tokenizer, string piece)
    {
        var bytes = Encoding.UTF8.GetBytes(piece);
        for (var id = 259; id < tokenizer.VocabSize; id++)
            if (tokenizer.TokenBytes(id).SequenceEqual(bytes)) return id;
        throw new ArgumentException($"no piece '{piece}'", nameof(piece));
    }

    /// <summary>A piece's bytes as the API's int list.</summary>
    public static int[] Bytes(string text) => Array.ConvertAll(Encoding.UTF8.GetBytes(text), b => (int)b);
}
