using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Text;
using Distillery.Core.Hashing;
using Distillery.Core.Statistics;

namespace Distillery.Models.Decoding;

/// <summary>
/// The green-list watermark of Kirchenbauer et al. 2023 ("A Watermark for Large Language Models", arXiv 2301.10226): at each
/// step HMAC-SHA256(key, previous H token ids) seeds a split of the vocabulary in which each token is green with probability
/// γ, and δ is added to the green tokens' logits before sampling. Detection counts green tokens (<see cref="Score"/>).
/// </summary>
/// <remarks>
/// Each token's colour is its own keyed coin (SplitMix64's stream from the context's seed, at the token's index), so a
/// (context, token) pair is green with probability exactly γ for text that does not depend on the key, whatever the
/// vocabulary: the count over distinct pairs is Binomial(T, γ). The key never leaves this object (not in <see cref="ToString"/>).
/// </remarks>
public sealed class GreenListWatermark
{
    private const ulong Golden = 0x9E3779B97F4A7C15UL; // SplitMix64's increment
    private readonly byte[] key;
    private readonly ulong threshold; // a coin below it is green

    /// <summary>A watermark under <paramref name="key"/>: green share γ in (0, 1), bias δ ≥ 0 in logits, context of H ≥ 1 previous tokens.</summary>
    public GreenListWatermark(ReadOnlySpan<byte> key, double gamma = 0.25, double delta = 2.0, int context = 1)
    {
        if (key.IsEmpty) throw new ArgumentException("the key is empty", nameof(key));
        if (!(gamma > 0 && gamma < 1)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "γ must lie strictly between 0 and 1");
        if (!(delta >= 0) || double.IsInfinity(delta)) throw new ArgumentOutOfRangeException(nameof(delta), delta, "δ must be finite and not negative");
        ArgumentOutOfRangeException.ThrowIfLessThan(context, 1);
        this.key = key.ToArray();
        Gamma = gamma;
        Delta = delta;
        Context = context;
        threshold = (ulong)Math.Min(gamma * 18446744073709551616.0, ulong.MaxValue);
    }

    /// <summary>A watermark keyed by the UTF-8 bytes of <paramref name="key"/>.</summary>
    public GreenListWatermark(string key, double gamma = 0.25, double delta = 2.0, int context = 1)
        : this(Encoding.UTF8.GetBytes(key ?? throw new ArgumentNullException(nameof(key))), gamma, delta, context)
    {
    }

    /// <summary>γ: the probability that a token is green.</summary>
    public double Gamma { get; }

    /// <summary>δ: what is added to a green token's logit.</summary>
    public double Delta { get; }

    /// <summary>H: how many previous tokens seed the split.</summary>
    public int Context { get; }

    /// <summary>The seed of the split after <paramref name="previous"/> (its last H ids; fewer where the sequence is shorter).</summary>
    public ulong SeedOf(ReadOnlySpan<int> previous)
    {
        var window = previous.Length > Context ? previous[^Context..] : previous;
        Span<byte> bytes = stackalloc byte[4 * Context];
        bytes.Clear();
        for (var i = 0; i < window.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes[(4 * i)..], window[i]);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(key, bytes[..(4 * window.Length)], mac);
        return BinaryPrimitives.ReadUInt64LittleEndian(mac);
    }

    /// <summary>Whether <paramref name="token"/> is green in the split seeded by <paramref name="seed"/>.</summary>
    public bool IsGreen(ulong seed, int token) => SplitMix64.Finalize(unchecked(seed + (ulong)(token + 1) * Golden)) < threshold;

    /// <summary>Whether <paramref name="token"/> is green after <paramref name="previous"/>.</summary>
    public bool IsGreen(ReadOnlySpan<int> previous, int token) => IsGreen(SeedOf(previous), token);

    /// <summary>
    /// Biases a row of log-probabilities after <paramref name="previous"/> in place: δ added to the green tokens, then
    /// normalised again, so the row is the log-softmax of the distribution actually sampled from.
    /// </summary>
    public void Apply(Span<float> logprobs, ReadOnlySpan<int> previous)
    {
        var seed = SeedOf(previous);
        var delta = (float)Delta;
        for (var t = 0; t < logprobs.Length; t++)
            if (IsGreen(seed, t)) logprobs[t] += delta;
        var lse = (float)Sampler.LogSumExp(logprobs);
        for (var t = 0; t < logprobs.Length; t++) logprobs[t] -= lse;
    }

    /// <summary>
    /// The radioactivity count of Sander et al. 2024 (arXiv 2402.14904): every token that has H tokens before it in its
    /// sequence is scored, each distinct (previous H tokens, token) pair only once (repeats would count one coin many times).
    /// With <paramref name="minOccurrences"/> above 1, only pairs the sequences hold at least that often are scored: the
    /// suspect's most practised pairs, where a learned bias shows most. The choice depends on the suspect's text alone, not
    /// on the key, so under H0 each scored pair is still green with probability γ and the test stays exact.
    /// </summary>
    public WatermarkScore Score(IEnumerable<IReadOnlyList<int>> sequences, int minOccurrences = 1)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentOutOfRangeException.ThrowIfLessThan(minOccurrences, 1);
        var counts = new Dictionary<string, (int Count, int[] Window)>(StringComparer.Ordinal);
        long tokens = 0;
        foreach (var sequence in sequences)
        {
            var ids = sequence is int[] array ? array : [.. sequence];
            tokens += ids.Length;
            for (var i = Context; i < ids.Length; i++)
            {
                var window = ids[(i - Context)..(i + 1)];
                var pair = string.Join(',', window);
                counts[pair] = counts.TryGetValue(pair, out var seen) ? (seen.Count + 1, seen.Window) : (1, window);
            }
        }
        long scored = 0, green = 0;
        foreach (var (count, window) in counts.Values)
        {
            if (count < minOccurrences) continue;
            scored++;
            if (IsGreen(window.AsSpan(0, Context), window[Context])) green++;
        }
        return new WatermarkScore(tokens, scored, green, Gamma);
    }

    /// <summary>Names the settings, never the key.</summary>
    public override string ToString() => FormattableString.Invariant($"green-list watermark (γ {Gamma}, δ {Delta}, context {Context})");
}

/// <summary>A radioactivity count: tokens read, distinct pairs scored (T), green ones (G), and the test of H0 "G ~ Binomial(T, γ)".</summary>
public sealed record WatermarkScore(long Tokens, long Scored, long Green, double Gamma)
{
    /// <summary>The share of scored pairs that are green.</summary>
    public double GreenFraction => Scored == 0 ? double.NaN : Green / (double)Scored;

    /// <summary>z = (G − γT) / √(T γ (1 − γ)).</summary>
    public double Z => Scored == 0 ? double.NaN : (Green - Gamma * Scored) / Math.Sqrt(Scored * Gamma * (1 - Gamma));

    /// <summary>The exact one-sided p-value P(X ≥ G) for X ~ Binomial(T, γ).</summary>
    public double P => BinomialTail.Upper(Scored, Green, Gamma);
}
