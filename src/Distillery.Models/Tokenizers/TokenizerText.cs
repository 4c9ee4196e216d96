using System;
using System.Collections.Generic;
using System.Text;

namespace Distillery.Models.Tokenizers;

/// <summary>Byte-level helpers shared by the tokenizers: joining token bytes into text, and token display strings.</summary>
public static class TokenizerText
{
    /// <summary>Concatenates each step's bytes and decodes UTF-8 once, so characters split across tokens come out whole.</summary>
    public static string Decode(ITextTokenizer tokenizer, IReadOnlyList<int> ids, int previousId = -1)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        var prev = previousId;
        foreach (var id in ids)
        {
            bytes.AddRange(tokenizer.DecodeStep(prev, id));
            prev = id;
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>A token's text as the OpenAI API shows it: its bytes as UTF-8, with an invalid fragment written as <c>bytes:\xNN</c>.</summary>
    public static string Display(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            var sb = new StringBuilder("bytes:");
            foreach (var b in bytes) sb.Append($"\\x{b:x2}");
            return sb.ToString();
        }
    }

    /// <summary>The bytes as the int list the OpenAI API returns.</summary>
    public static int[] ByteList(ReadOnlySpan<byte> bytes)
    {
        var list = new int[bytes.Length];
        for (var i = 0; i < bytes.Length; i++) list[i] = bytes[i];
        return list;
    }
}
