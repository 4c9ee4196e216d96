using System;
using System.Linq;
using System.Threading;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Models.Decoding;

namespace Distillery.Models.Tests.Decoding;

[Collection(Stories260KCollection.Name)]
public sealed class DecodingTests(Stories260K stories)
{
    private GenerationResult Run(string prompt, SamplingParameters p) =>
        TextGenerator.Generate(stories.Model, stories.Tokenizer, stories.Tokenizer.Encode(prompt, addBos: true), p);

    [Fact]
    public void The_same_seed_gives_the_same_sample_and_another_seed_another()
    {
        var p = new SamplingParameters { Temperature = 1.0, TopP = 0.95, MaxTokens = 40, Seed = 42 };
        var a = Run("Once upon a time", p);
        var b = Run("Once upon a time", p);
        var c = Run("Once upon a time", p with { Seed = 43 });
        Assert.Equal(a.TokenIds, b.TokenIds);
        Assert.NotEqual(a.TokenIds, c.TokenIds);
    }

    [Fact]
    public void Top_k_of_one_and_a_tiny_top_p_are_greedy()
    {
        var greedy = Run("Lily", new SamplingParameters { Temperature = 0, MaxTokens = 30 });
        Assert.Equal(greedy.TokenIds, Run("Lily", new SamplingParameters { Temperature = 1.5, TopK = 1, MaxTokens = 30, Seed = 1 }).TokenIds);
        Assert.Equal(greedy.TokenIds, Run("Lily", new SamplingParameters { Temperature = 1.5, TopP = 1e-6, MaxTokens = 30, Seed = 1 }).TokenIds);
    }

    [Fact]
    public void Logprobs_and_alternatives_match_scoring_the_same_sequence()
    {
        var prompt = stories.Tokenizer.Encode("Once upon a time", addBos: true);
        var result = TextGenerator.Generate(stories.Model, stories.Tokenizer, prompt, new SamplingParameters { Temperature = 0.8, Seed = 5, MaxTokens = 20, TopLogprobs = 5 });
        Assert.Equal(20, result.Logprobs.Count);
        var scored = TokenScoring.Score(stories.Model, stories.Tokenizer, [.. prompt, .. result.TokenIds], topLogprobs: 5);
        for (var i = 0; i < result.Logprobs.Count; i++)
        {
            var generated = result.Logprobs[i];
            var expected = scored[prompt.Count - 1 + i];
            Assert.Equal(result.TokenIds[i], generated.Id);
            Assert.Equal(expected.Logprob, generated.Logprob, 1e-4);
            Assert.Equal(5, generated.TopLogprobs.Count);
            Assert.Equal(expected.TopLogprobs.Select(t => t.Id), generated.TopLogprobs.Select(t => t.Id));
            Assert.True(generated.TopLogprobs.Zip(generated.TopLogprobs.Skip(1)).All(p => p.First.Logprob >= p.Second.Logprob), "alternatives must be sorted");
            Assert.Equal(stories.Tokenizer.TokenBytes(generated.Id!.Value).ToArray().Select(b => (int)b), generated.Bytes);
        }
    }

    [Fact]
    public void Sampled_logprobs_are_draws_from_the_distribution_and_leave_the_text_unchanged()
    {
        var prompt = stories.Tokenizer.Encode("Once upon a time", addBos: true);
        var p = new SamplingParameters { Temperature = 0.8, Seed = 5, MaxTokens = 40 };
        var plain = TextGenerator.Generate(stories.Model, stories.Tokenizer, prompt, p);
        var sampled = TextGenerator.Generate(stories.Model, stories.Tokenizer, prompt, p with { SampledLogprobs = 12 });
        Assert.Equal(plain.TokenIds, sampled.TokenIds);
        Assert.All(plain.Logprobs, t => Assert.Null(t.SampledLogprobs));
        // Every id's logprob at every position, at temperature 1 (not the 0.8 the text was sampled at).
        var scored = TokenScoring.Score(stories.Model, stories.Tokenizer, [.. prompt, .. sampled.TokenIds], topLogprobs: stories.Tokenizer.VocabSize);
        double sum = 0, variance = 0;
        var draws = 0;
        for (var i = 0; i < sampled.Logprobs.Count; i++)
        {
            var all = scored[prompt.Count - 1 + i].TopLogprobs.ToDictionary(a => a.Id!.Value, a => a.Logprob);
            var entropy = -all.Values.Sum(l => Math.Exp(l) * l);
            var spread = all.Values.Sum(l => Math.Exp(l) * Math.Pow(l + entropy, 2));
            var position = sampled.Logprobs[i].SampledLogprobs!;
            Assert.Equal(12, position.Count);
            foreach (var draw in position)
            {
                Assert.Equal(all[draw.Id!.Value], draw.Logprob, 1e-4);
                sum += draw.Logprob + entropy; // E_p[log p] = −H: zero in expectation when the draws follow p
                variance += spread;
                draws++;
            }
        }
        Assert.True(Math.Abs(sum) < 4 * Math.Sqrt(variance), $"Σ(log p + H) = {sum:F2} over {draws} draws, sd {Math.Sqrt(variance):F2}");
        var again = TextGenerator.Generate(stories.Model, stories.Tokenizer, prompt, p with { SampledLogprobs = 12 });
        Assert.Equal(sampled.Logprobs.SelectMany(t => t.SampledLogprobs!.Select(d => d.Id)), again.Logprobs.SelectMany(t => t.SampledLogprobs!.Select(d => d.Id)));
    }

    [Fact]
    public void Greedy_tokens_are_the_first_alternative_with_probabilities_that_sum_below_one()
    {
        var result = Run("Once upon a time", new SamplingParameters { Temperature = 0, MaxTokens = 10, TopLogprobs = 3 });
        foreach (var t in result.Logprobs)
        {
            Assert.Equal(t.Id, t.TopLogprobs[0].Id);
            Assert.Equal(t.Logprob, t.TopLogprobs[0].Logprob);
            Assert.InRange(t.TopLogprobs.Sum(a => Math.Exp(a.Logprob)), 0, 1 + 1e-9);
        }
    }

    [Fact]
    public void A_stop_string_ends_the_text_before_it_with_finish_reason_stop()
    {
        var full = Run("Once upon a time", new SamplingParameters { Temperature = 0, MaxTokens = 60 });
        Assert.Contains("Lily", full.Text, StringComparison.Ordinal);
        var stopped = Run("Once upon a time", new SamplingParameters { Temperature = 0, MaxTokens = 60, Stop = ["Lily"] });
        Assert.Equal(FinishReason.Stop, stopped.FinishReason);
        Assert.Equal(full.Text[..full.Text.IndexOf("Lily", StringComparison.Ordinal)], stopped.Text);
        // The kept tokens cover the kept text; the last may run into the stop string (" Lily" holds the space before it).
        Assert.StartsWith(stopped.Text, stories.Tokenizer.Decode(stopped.TokenIds, previousId: 378), StringComparison.Ordinal);
        Assert.Equal("length", full.FinishReasonText);
        Assert.Equal(5, full.PromptTokens);
    }

    [Fact]
    public void Max_tokens_bounds_the_completion_and_the_context_length_bounds_it_too()
    {
        Assert.Equal(7, Run("Once", new SamplingParameters { Temperature = 0, MaxTokens = 7 }).CompletionTokens);
        var prompt = Enumerable.Repeat(403, 508).Prepend(1).ToArray(); // 509 of the 512 positions
        var r = TextGenerator.Generate(stories.Model, stories.Tokenizer, prompt, new SamplingParameters { Temperature = 0, MaxTokens = 50 });
        Assert.True(r.CompletionTokens <= 3 + 1, $"generated {r.CompletionTokens} tokens past a 512-position context");
        Assert.Equal(FinishReason.Length, r.FinishReason);
    }

    [Fact]
    public void Cancellation_stops_generation()
    {
        using var cts = new CancellationTokenSource();
        var count = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => TextGenerator.Generate(stories.Model, stories.Tokenizer, [1],
            new SamplingParameters { Temperature = 0, MaxTokens = 200 }, _ => { if (++count == 3) cts.Cancel(); }, cts.Token));
        Assert.Equal(3, count);
    }

    [Theory]
    [InlineData(-1.0, 1.0, 0, 10, "temperature")]
    [InlineData(1.0, 0.0, 0, 10, "top_p")]
    [InlineData(1.0, 1.0, -2, 10, "top_k")]
    [InlineData(1.0, 1.0, 0, 0, "max_tokens")]
    public void Bad_sampling_parameters_are_one_line_errors_naming_the_field(double t, double topP, int topK, int max, string field)
    {
        var e = Assert.Throws<InputException>(() => Run("x", new SamplingParameters { Temperature = t, TopP = topP, TopK = topK, MaxTokens = max }));
        Assert.StartsWith(field, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sampler_top_k_picks_the_largest_first_and_sampling_follows_the_distribution()
    {
        float[] logits = [0.5f, 3f, -1f, 3f, 2f];
        Assert.Equal([1, 3, 4], Sampler.TopK(logits, 3));
        Assert.Equal(1, Sampler.Argmax(logits));
        // softmax([ln 1, ln 3]) = [0.25, 0.75]: 20,000 draws land within a few standard deviations.
        float[] two = [0f, MathF.Log(3f)];
        var random = new Random(7);
        var ones = Enumerable.Range(0, 20000).Count(_ => Sampler.Sample(two, 1.0, 0, 1.0, random) == 1);
        Assert.InRange(ones / 20000.0, 0.74, 0.76);
        Assert.Equal(Math.Log(1 + 3), Sampler.LogSumExp(two), 6);
    }
}
