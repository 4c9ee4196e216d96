using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Prompts;
using Distillery.Core.Provenance;
using Distillery.Models.Decoding;
using Distillery.Models.Tokenizers;

namespace Distillery.Teachers.Provenance;

/// <summary>
/// The radioactivity test on the suspect's logprobs (<see cref="GreenMass"/>): how much of its next-token probability sits on
/// the key's green lists after each distinct context of its own answers, against the γ that chance gives; optionally less
/// the watermarked teacher's own unwatermarked probabilities, so only what the suspect learned beyond the teacher is scored.
/// </summary>
public static class GreenMassTest
{
    /// <summary>The report's test name.</summary>
    public const string Name = "radioactivity-logprobs";

    /// <summary>How contexts are combined unless told otherwise: each alike, which found 20 of 20 students trained on 25% watermarked text at δ 4, against 8 of 20 for mass weighting (bench/results/provenance.md).</summary>
    public const GreenMassWeighting DefaultWeighting = GreenMassWeighting.Context;

    private const string Scope =
        "Shows: after the contexts of its own answers, the suspect puts more probability on this key's green lists than chance allows, which "
        + "text sampled under the key teaches a model. Cannot show: how much of its training data was watermarked, nor that a model is clean. "
        + "p is the normal tail of z, a sum over distinct contexts of independent terms whose mean and variance are known exactly for any "
        + "suspect (and reference) that does not depend on the key; random keys give calibrated p-values (bench/results/provenance.md).";

    /// <summary>
    /// Scores the suspect's completions of <paramref name="prompts"/> and their top logprobs under <paramref name="watermark"/>; with
    /// <paramref name="teacher"/>, the teacher's own probabilities at the same positions are subtracted from the suspect's;
    /// <paramref name="weighting"/> says how the contexts' terms are combined.
    /// </summary>
    public static ProvenanceReport Evaluate(string suspect, GreenListWatermark watermark, PromptSet prompts, IReadOnlyList<Completion> completions, ITextTokenizer? tokenizer,
        UnmarkedTeacher? teacher, double alpha, DateTimeOffset now, GreenMassWeighting weighting)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(watermark);
        ArgumentNullException.ThrowIfNull(completions);
        if (completions.All(c => c.Tokens.All(t => t.TopLogprobs.Count == 0)))
            throw InputException.InField("--suspect", $"{suspect} returned no top logprobs for any of {completions.Count} prompts; score its text instead (--score tokens)");
        var ids = TokenIdsByBytes.For(completions, tokenizer);
        var mass = new GreenMass(watermark);
        for (var c = 0; c < completions.Count; c++)
        {
            var tokens = completions[c].Tokens;
            var answer = tokens.Select(ids.Of).ToArray();
            var reference = teacher?.Probabilities(prompts.Prompts[c].Messages, answer);
            for (var t = 0; t < answer.Length; t++)
            {
                var at = reference?[t];
                // Alternatives with no id in the vocabulary (control tokens reported by text) are left out: which are left out does not depend on the key.
                mass.Add(answer.AsSpan(0, t), tokens[t].TopLogprobs.Select(a => (Id: ids.Of(a), a.Logprob)).Where(a => a.Id is not null)
                    .Select(a => (a.Id!.Value, Math.Exp(a.Logprob) - (at is null ? 0 : at[a.Id!.Value]))));
            }
        }
        if (mass.Positions == 0) throw InputException.InField("--max-tokens", $"the suspect's answers are too short to score (each needs more than {watermark.Context} tokens); raise --max-tokens");
        var score = mass.Score(weighting);
        var log10P = score.LogP / Math.Log(10);
        return WatermarkReport.Of(Name, suspect,
            log10P < Math.Log10(alpha)
                ? string.Create(CultureInfo.InvariantCulture, $"Watermark found: the suspect very likely learned from text sampled under this key (z {score.Z:F1} over {score.Contexts:N0} contexts, {WeightingName(weighting)}).")
                : string.Create(CultureInfo.InvariantCulture, $"No evidence at α = {alpha} that the suspect learned from text sampled under this key (z {score.Z:F1} over {score.Contexts:N0} contexts, {WeightingName(weighting)})."),
            score.Z, log10P, completions, new Dictionary<string, double>
            {
                ["positions_read"] = score.Positions,
                ["contexts_scored"] = score.Contexts,
                ["gamma"] = score.Gamma,
                ["teacher_subtracted"] = teacher is null ? 0 : 1,
                ["alpha"] = alpha,
            }, Scope, now);
    }

    /// <summary>The option value that names each weighting.</summary>
    public static string OptionName(GreenMassWeighting weighting) => weighting switch
    {
        GreenMassWeighting.Mass => "mass",
        GreenMassWeighting.Context => "context",
        GreenMassWeighting.InverseVariance => "inverse-variance",
        _ => throw new ArgumentOutOfRangeException(nameof(weighting)),
    };

    private static string WeightingName(GreenMassWeighting weighting) => weighting switch
    {
        GreenMassWeighting.Mass => "contexts weighted by their mass",
        GreenMassWeighting.Context => "each context weighted alike",
        _ => "contexts weighted by their inverse variance",
    };
}
