using System;
using System.IO.Compression;
using System.Text;

namespace Distillery.Core.Ledger;

/// <summary>
/// How the ledger stores a response: its JSON, UTF-8, Brotli-compressed (column <c>response_br</c>), so the ledger does not keep
/// a second full-size copy of every answer beside the dataset. Rows written before it keep their JSON text in <c>response</c>, and are read as they are.
/// </summary>
public static class ResponseCodec
{
    // Quality 5 with a 4 MB window: most of Brotli's gain on logprob JSON (repeated keys, repeated token texts) for a few
    // milliseconds a response; the higher levels cost several times the CPU for a few per cent.
    private const int Quality = 5;
    private const int Window = 22;

    /// <summary>The stored form of a response's JSON.</summary>
    public static byte[] Encode(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var utf8 = Encoding.UTF8.GetBytes(json);
        var buffer = new byte[BrotliEncoder.GetMaxCompressedLength(utf8.Length)];
        if (!BrotliEncoder.TryCompress(utf8, buffer, out var written, Quality, Window))
            throw new InvalidOperationException("Brotli could not compress a response into its maximum compressed length");
        return buffer.AsSpan(0, written).ToArray();
    }

    /// <summary>The response's JSON from its stored form.</summary>
    public static string Decode(byte[] stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        using var input = new System.IO.MemoryStream(stored);
        using var brotli = new BrotliStream(input, CompressionMode.Decompress);
        using var reader = new System.IO.StreamReader(brotli, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
