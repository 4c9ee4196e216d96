using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Text.Json;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Datasets.Sidecar;

namespace Distillery.Core.Ledger;

/// <summary>
/// How the ledger stores a response, by version (docs/ledger-format.md). Form 2, written now: <see cref="CompactResponse"/>,
/// Brotli-compressed, in column <c>response_br</c>. Form 1 (read only): the response's JSON, UTF-8, Brotli-compressed in the
/// same column; form 0 (read only): the JSON as text in column <c>response</c>.
/// </summary>
public static class ResponseCodec
{
    // Quality 5 with a 4 MB window: most of Brotli's gain on the compact form for about a millisecond a response; the higher
    // levels cost several times the CPU for a few per cent.
    private const int Quality = 5;
    private const int Window = 22;

    /// <summary>The stored form of a response (form 2); its logprobs kept at float16, as <see cref="AtStoredPrecision"/> gives them.</summary>
    public static byte[] Encode(Completion response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var compact = CompactResponse.Write(response);
        var buffer = new byte[BrotliEncoder.GetMaxCompressedLength(compact.Length)];
        if (!BrotliEncoder.TryCompress(compact, buffer, out var written, Quality, Window))
            throw new InvalidOperationException("Brotli could not compress a response into its maximum compressed length");
        return buffer.AsSpan(0, written).ToArray();
    }

    /// <summary>A response from <c>response_br</c> (form 2, or form 1's JSON); form 2 takes the model and usage from the ledger's columns. A damaged one is a <see cref="InvalidDataException"/>.</summary>
    public static Completion Decode(byte[] stored, string model, TokenUsage usage)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(usage);
        byte[] body;
        try
        {
            using var output = new MemoryStream();
            using (var brotli = new BrotliStream(new MemoryStream(stored), CompressionMode.Decompress)) brotli.CopyTo(output);
            body = output.ToArray();
        }
        catch (Exception e) when (e is InvalidOperationException or InvalidDataException)
        {
            throw new InvalidDataException("not Brotli-compressed", e);
        }
        if (body.AsSpan().StartsWith(CompactResponse.Magic))
            return CompactResponse.Read(body, model, usage) ?? throw new InvalidDataException("a compact response cut short or damaged");
        return FromJson(Encoding.UTF8.GetString(body));
    }

    /// <summary>A response stored as JSON (forms 0 and 1). A damaged one is a <see cref="InvalidDataException"/>.</summary>
    public static Completion FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonSerializer.Deserialize<Completion>(json, DatasetJson.Compact) ?? throw new InvalidDataException("null, not a response");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"not a response's JSON ({e.Message})", e);
        }
    }

    /// <summary>The response as the ledger gives it back: every logprob at float16 (what the dataset's sidecar keeps too), all else as it is.</summary>
    public static Completion AtStoredPrecision(Completion response)
    {
        ArgumentNullException.ThrowIfNull(response);
        static double Round(double logprob) => LogprobBlock.AtStoredPrecision(logprob);
        return response with
        {
            Tokens = [.. response.Tokens.Select(t => t with
            {
                Logprob = Round(t.Logprob),
                TopLogprobs = [.. t.TopLogprobs.Select(a => a with { Logprob = Round(a.Logprob) })],
                SampledLogprobs = t.SampledLogprobs is null ? null : [.. t.SampledLogprobs.Select(s => s with { Logprob = Round(s.Logprob) })],
            })],
        };
    }
}
