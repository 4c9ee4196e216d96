using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Chat;
using Distillery.Core.Statistics;
using Distillery.Models.Decoding;
using Distillery.Models.Llama;

namespace Distillery.Models.Tests.Decoding;

/// <summary>
/// The green-list watermark on the real stories260K: deterministic under a key and a seed, reported logprobs from the biased
/// distribution, and green counts within their binomial bounds wherever the text does not depend on the key.
/// </summary>
[Collection(Stories260KCollection.Name)]
public sealed class GreenListWatermarkTests(Stories260K stories)
{
    private const double Gamma = 0.25;
    private static readonly int[][] Prompts = [[1], [1, 403, 261, 306], [1, 70, 411, 261, 306, 322, 480]];

    private static SamplingParameters Sampling(int seed) => new() { Temperature = 1, MaxTokens = 48, Seed = seed };

    private List<GenerationResult> Generate(GreenListWatermark? watermark, int runs, int seed = 0)
    {
        using var weights = new LlamaInferenceWeights(stories.Model);
        return [.. Enumerable.Range(0, runs).Select(i => TextGenerator.Generate(weights, stories.Tokenizer, Prompts[i % Prompts.Length], Sampling(seed + i), watermark))];
    }

    /// <summary>The bound a Binomial(T, γ) count stays within with probability above 1 − 1e-6 (|z| ≤ 5).</summary>
    private static void AssertChance(WatermarkScore score)
    {
        Assert.True(score.Scored > 300, $"only {score.Scored} pairs scored");
        Assert.InRange(score.Z, -5, 5);
    }

    [Fact]
    public void Watermarked_sampling_with_a_key_and_a_seed_is_deterministic_and_the_key_changes_it()
    {
        var key = new GreenListWatermark("key-a");
        var first = Generate(key, 3);
        var again = Generate(new GreenListWatermark("key-a"), 3);
        Assert.Equal(first.Select(r => r.TokenIds), again.Select(r => r.TokenIds));
        Assert.Equal(first.SelectMany(r => r.Logprobs.Select(l => l.Logprob)), again.SelectMany(r => r.Logprobs.Select(l => l.Logprob)));
        Assert.NotEqual(first.Select(r => r.TokenIds), Generate(new GreenListWatermark("key-b"), 3).Select(r => r.TokenIds));
    }

    [Fact]
    public void Without_a_watermark_generation_is_bit_identical_to_the_plain_generator()
    {
        var plain = Enumerable.Range(0, 3).Select(i => TextGenerator.Generate(stories.Model, stories.Tokenizer, Prompts[i], Sampling(i))).ToList();
        var none = Generate(null, 3);
        Assert.Equal(plain.Select(r => r.Text), none.Select(r => r.Text));
        Assert.Equal(plain.SelectMany(r => r.Logprobs.Select(l => BitConverter.DoubleToInt64Bits(l.Logprob))), none.SelectMany(r => r.Logprobs.Select(l => BitConverter.DoubleToInt64Bits(l.Logprob))));
    }

    [Fact]
    public void Reported_logprobs_are_those_of_the_biased_distribution_sampled_from()
    {
        var key = new GreenListWatermark("key-a", Gamma, delta: 2.0);
        var result = Generate(key, 1).Single();
        var ids = Prompts[0].Concat(result.TokenIds).ToArray();
        var vocab = stories.Model.Config.VocabSize;
        // The unbiased distribution at every position, with every token as an alternative, from a full forward pass.
        var scored = TokenScoring.Score(stories.Model, stories.Tokenizer, ids, topLogprobs: vocab);
        for (var t = 0; t < result.TokenIds.Count; t++)
        {
            var plain = new double[vocab];
            foreach (var alt in scored[Prompts[0].Length - 1 + t].TopLogprobs) plain[alt.Id!.Value] = alt.Logprob;
            var seed = key.SeedOf(ids.AsSpan(0, Prompts[0].Length + t));
            // p_w(x) = p(x) e^{δ·green(x)} / Σ_y p(y) e^{δ·green(y)}, in double.
            var normaliser = Math.Log(Enumerable.Range(0, vocab).Sum(y => Math.Exp(plain[y] + (key.IsGreen(seed, y) ? 2.0 : 0))));
            var chosen = result.TokenIds[t];
            var expected = plain[chosen] + (key.IsGreen(seed, chosen) ? 2.0 : 0) - normaliser;
            Assert.Equal(expected, result.Logprobs[t].Logprob, 3e-4);
        }
    }

    [Fact]
    public void Apply_adds_delta_to_exactly_the_green_tokens_and_normalises()
    {
        var key = new GreenListWatermark("key-a", Gamma, delta: 1.5, context: 2);
        var row = Enumerable.Range(0, 512).Select(i => (float)Math.Log(1.0 / 512)).ToArray();
        int[] previous = [1, 70, 411];
        key.Apply(row, previous);
        var green = Enumerable.Range(0, 512).Count(t => key.IsGreen(previous, t));
        Assert.Equal(1.0, row.Sum(l => Math.Exp(l)), 1e-5);
        var greenP = Math.Exp(1.5) / (green * Math.Exp(1.5) + (512 - green)); // closed form for a uniform row
        for (var t = 0; t < 512; t++) Assert.Equal(key.IsGreen(previous, t) ? greenP : 1.0 / (green * Math.Exp(1.5) + 512 - green), Math.Exp(row[t]), 1e-6);
        Assert.InRange(green, 512 * Gamma - 5 * Math.Sqrt(512 * Gamma * (1 - Gamma)), 512 * Gamma + 5 * Math.Sqrt(512 * Gamma * (1 - Gamma)));
        Assert.Equal(key.SeedOf([70, 411]), key.SeedOf(previous)); // only the last H = 2 ids seed the split
        Assert.NotEqual(key.SeedOf([1, 411]), key.SeedOf(previous));
    }

    [Fact]
    public void Unwatermarked_text_with_any_key_and_watermarked_text_with_a_wrong_key_are_green_at_chance_and_the_right_key_finds_its_own()
    {
        var plainText = Generate(null, 30).Select(r => r.TokenIds).ToList();
        foreach (var name in new[] { "key-a", "key-b", "key-c" }) AssertChance(new GreenListWatermark(name, Gamma).Score(plainText));
        var marked = Generate(new GreenListWatermark("key-a", Gamma), 30, seed: 1000).Select(r => r.TokenIds).ToList();
        AssertChance(new GreenListWatermark("key-wrong", Gamma).Score(marked));
        var own = new GreenListWatermark("key-a", Gamma).Score(marked);
        Assert.True(own.Z > 8 && own.P < 1e-12, $"own key: z {own.Z}, green {own.GreenFraction:P1}");
    }

    [Fact]
    public void P_values_of_text_without_the_watermark_are_calibrated()
    {
        // Under H0 each distinct (context, token) pair is an independent γ-coin for every key, so 400 keys give 400
        // independent p-values: the share below 0.05 must stay within Binomial(400, 0.05)'s 1e-4 bounds (the exact tail is
        // discrete, so only slightly conservative).
        var text = Generate(null, 20, seed: 77).Select(r => r.TokenIds).ToList();
        var below = Enumerable.Range(0, 400).Count(k => new GreenListWatermark($"calibration-{k}", Gamma).Score(text).P < 0.05);
        var upper = Enumerable.Range(0, 401).First(c => BinomialTail.Upper(400, c + 1, 0.05) < 1e-4);
        var lower = Enumerable.Range(0, 401).Last(c => 1 - BinomialTail.Upper(400, c, 0.05) < 1e-4);
        Assert.InRange(below, lower, upper);
    }

    [Fact]
    public void Each_distinct_context_and_token_pair_is_scored_once()
    {
        var key = new GreenListWatermark("key-a", Gamma, context: 1);
        var score = key.Score([[5, 9, 5, 9, 5, 9], [9, 5]]);
        Assert.Equal(8, score.Tokens);
        Assert.Equal(2, score.Scored); // (5→9) and (9→5)
        Assert.Equal((key.IsGreen([5], 9) ? 1 : 0) + (key.IsGreen([9], 5) ? 1 : 0), score.Green);
        Assert.Equal(3, new GreenListWatermark("key-a", Gamma, context: 2).Score([[5, 9, 5, 9, 5, 9, 7]]).Scored); // (5,9→5), (9,5→9), (5,9→7)
    }

    [Fact]
    public void Only_pairs_written_at_least_m_times_are_scored_when_asked_and_the_p_values_stay_calibrated()
    {
        var key = new GreenListWatermark("key-a", Gamma, context: 1);
        // (5→9) three times, (9→5) three times across the sequences, (9→7) and (7→1) once each.
        int[][] text = [[5, 9, 5, 9, 5, 9, 7], [9, 5, 7, 1]];
        Assert.Equal(5, key.Score(text).Scored); // (5→9), (9→5), (9→7), (5→7), (7→1)
        var repeated = key.Score(text, minOccurrences: 2);
        Assert.Equal(11, repeated.Tokens);
        Assert.Equal(2, repeated.Scored);
        Assert.Equal((key.IsGreen([5], 9) ? 1 : 0) + (key.IsGreen([9], 5) ? 1 : 0), repeated.Green);
        Assert.Equal(0, key.Score(text, minOccurrences: 4).Scored);

        // Which pairs are kept depends on the text alone, so under H0 the p-values of 400 keys stay within Binomial(400, 0.05)'s bounds.
        var plain = Generate(null, 20, seed: 77).Select(r => r.TokenIds).ToList();
        Assert.True(new GreenListWatermark("calibration-0", Gamma).Score(plain, 2).Scored > 50);
        var below = Enumerable.Range(0, 400).Count(k => new GreenListWatermark($"calibration-{k}", Gamma).Score(plain, 2).P < 0.05);
        var upper = Enumerable.Range(0, 401).First(c => BinomialTail.Upper(400, c + 1, 0.05) < 1e-4);
        var lower = Enumerable.Range(0, 401).Last(c => 1 - BinomialTail.Upper(400, c, 0.05) < 1e-4);
        Assert.InRange(below, lower, upper);
    }

    [Fact]
    public void The_key_never_appears_in_its_description()
    {
        var key = new GreenListWatermark("super-secret-key-123", 0.3, 2.5, 2);
        Assert.DoesNotContain("super-secret", key.ToString(), StringComparison.Ordinal);
        Assert.Contains("0.3", key.ToString(), StringComparison.Ordinal);
    }
}
