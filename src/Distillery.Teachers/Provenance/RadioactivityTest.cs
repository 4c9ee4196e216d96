using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Provenance;
using Distillery.Core.Statistics;
using Distillery.Models.Decoding;
using Distillery.Models.Tokenizers;

namespace Distillery.Teachers.Provenance;

/// <summary>
/// The radioactivity test of Sander et al. 2024 ("Watermarking makes language models radioactive", arXiv 2402.14904): a
/// suspect that learned from text sampled under a green-list key writes green tokens more often than the γ that chance gives.
/// </summary>
public static class RadioactivityTest
{
    private const string Scope =
        "Shows: the suspect's own text favours this key's green lists more often than chance allows, which text sampled under the key "
        + "teaches a model. Cannot show: how much of its training data was watermarked, nor that a model is clean — a small watermarked "
        + "share, paraphrased or filtered training text, or too few scored tokens leave the count within chance. p is exact (binomial tail "
        + "over distinct (context, token) pairs) for any suspect whose text does not depend on the key.";

    /// <summary>The token ids a completion's text stands for: the ids its logprobs carry (local models), else its text through <paramref name="tokenizer"/>.</summary>
    public static IReadOnlyList<int> IdsOf(Completion completion, ITextTokenizer? tokenizer)
    {
        ArgumentNullException.ThrowIfNull(completion);
        if (completion.Tokens.Count > 0 && completion.Tokens.All(t => t.Id is not null)) return [.. completion.Tokens.Select(t => t.Id!.Value)];
        if (completion.Text.Length == 0) return [];
        return tokenizer?.Encode(completion.Text) ?? throw InputException.InField("--tokenizer", "is needed to score a suspect whose answers carry no token ids; give the watermarked teacher's tokenizer");
    }

    /// <summary>How often a (context, token) pair must occur in the suspect's answers to be scored, by default (bench/results/provenance.md: 20/20 fully watermarked students found, against 18/20 scoring every pair).</summary>
    public const int DefaultMinRepeats = 2;

    /// <summary>
    /// Scores the suspect's completions under <paramref name="watermark"/>, counting only (context, token) pairs the suspect wrote at
    /// least <paramref name="minRepeats"/> times (<see cref="GreenListWatermark.Score"/>); a suspect that gave no tokens at all is an input error.
    /// </summary>
    public static ProvenanceReport Evaluate(string suspect, GreenListWatermark watermark, IReadOnlyList<Completion> completions, ITextTokenizer? tokenizer, double alpha, DateTimeOffset now, int minRepeats = DefaultMinRepeats)
    {
        ArgumentNullException.ThrowIfNull(watermark);
        ArgumentNullException.ThrowIfNull(completions);
        var score = watermark.Score(completions.Select(c => IdsOf(c, tokenizer)), minRepeats);
        if (score.Tokens == 0) throw InputException.InField("--suspect", $"{suspect} returned neither text nor logprobs for any of {completions.Count} prompts; there is nothing to score");
        if (score.Scored == 0)
            throw InputException.InField(minRepeats > 1 ? "--min-repeats" : "--max-tokens", minRepeats > 1
                ? $"no (context, token) pair occurs {minRepeats} times in the suspect's answers; ask more prompts, raise --max-tokens, or lower --min-repeats"
                : $"the suspect's answers are too short to score (each needs more than {watermark.Context} tokens); raise --max-tokens");
        var log10P = BinomialTail.LogUpper(score.Scored, score.Green, score.Gamma) / Math.Log(10);
        return WatermarkReport.Of("radioactivity", suspect,
            VerdictOf(score, log10P, alpha),
            score.Z, log10P, completions, new Dictionary<string, double>
            {
                ["tokens_read"] = score.Tokens,
                ["pairs_scored"] = score.Scored,
                ["pairs_green"] = score.Green,
                ["gamma"] = score.Gamma,
                ["green_fraction"] = score.GreenFraction,
                ["alpha"] = alpha,
                ["min_repeats"] = minRepeats,
            }, Scope, now);
    }

    private static string VerdictOf(WatermarkScore score, double log10P, double alpha)
    {
        var share = string.Create(CultureInfo.InvariantCulture, $"{score.Green:N0} of {score.Scored:N0} distinct pairs green ({score.GreenFraction:P1}, chance {score.Gamma:P0})");
        return log10P < Math.Log10(alpha)
            ? $"Watermark found: the suspect very likely learned from text sampled under this key ({share})."
            : $"No evidence at α = {alpha.ToString(CultureInfo.InvariantCulture)} that the suspect learned from text sampled under this key ({share}).";
    }
}
