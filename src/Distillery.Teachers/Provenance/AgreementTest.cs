using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Distillery.Core.Chat;
using Distillery.Core.Provenance;
using Distillery.Core.Statistics;

namespace Distillery.Teachers.Provenance;

/// <summary>
/// The black-box test of Model Provenance Testing (arXiv 2502.00706): on each prompt, how far the suspect's greedy
/// continuation agrees with a candidate parent's and with each reference's; H0 "the suspect agrees with the parent no more
/// than with the closest reference" is tested with a one-sided paired sign test over prompts.
/// </summary>
/// <remarks>
/// The sign test, not a paired t-test: per-prompt agreements are bounded, lumpy fractions (often exactly 0 or 1), far from
/// normal with a few dozen prompts; the sign test is exact under any distribution, at some cost in power. The closest
/// reference is the one with the highest mean agreement, chosen on the same prompts, which only makes the test stricter.
/// </remarks>
public static class AgreementTest
{
    private const string Scope =
        "Shows: the suspect's greedy text is closer to the parent's than to any given reference's on most prompts, as a model derived "
        + "from the parent (distilled or fine-tuned) would be. Cannot show: derivation against ancestors not among the references (a "
        + "shared ancestor of parent and suspect gives the same signal), nor independence when p is large, nor derivation when the parent's "
        + "greedy text is simply more generic than the references' (bench/results/provenance.md: SFT students of one teacher were called "
        + "closer to the other); agreement is compared word by word, so models with different tokenizers compare alike.";

    /// <summary>Positional agreement of two texts' words (split at whitespace): equal words at equal positions over the longer length; 1 when both are empty.</summary>
    public static double Agreement(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var x = a.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var y = b.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var longer = Math.Max(x.Length, y.Length);
        if (longer == 0) return 1;
        var same = 0;
        for (var i = 0; i < Math.Min(x.Length, y.Length); i++)
            if (string.Equals(x[i], y[i], StringComparison.Ordinal)) same++;
        return same / (double)longer;
    }

    /// <summary>Tests the suspect's answers against the parent's and the references' (each list in prompt order).</summary>
    public static ProvenanceReport Evaluate(
        string suspect, string parent, IReadOnlyList<string> references,
        IReadOnlyList<Completion> suspectAnswers, IReadOnlyList<Completion> parentAnswers, IReadOnlyList<IReadOnlyList<Completion>> referenceAnswers,
        double alpha, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(references);
        ArgumentNullException.ThrowIfNull(suspectAnswers);
        ArgumentNullException.ThrowIfNull(parentAnswers);
        ArgumentNullException.ThrowIfNull(referenceAnswers);
        if (references.Count == 0 || references.Count != referenceAnswers.Count) throw new ArgumentException("one answer list per reference is needed", nameof(referenceAnswers));
        var withParent = Agreements(suspectAnswers, parentAnswers);
        var withReferences = referenceAnswers.Select(r => Agreements(suspectAnswers, r)).ToList();
        var closest = Enumerable.Range(0, references.Count).MaxBy(r => withReferences[r].Average());
        var test = SignTest.Of(withParent.Zip(withReferences[closest], (p, r) => p - r));
        var figures = new Dictionary<string, double>
        {
            ["agreement_parent"] = withParent.Average(),
            ["prompts"] = withParent.Length,
            ["prompts_parent_closer"] = test.Positive,
            ["prompts_reference_closer"] = test.Negative,
            ["prompts_tied"] = test.Ties,
            ["alpha"] = alpha,
        };
        for (var r = 0; r < references.Count; r++) figures[$"agreement_reference_{r + 1}"] = withReferences[r].Average();
        var all = new[] { suspectAnswers, parentAnswers }.Concat(referenceAnswers).ToList();
        return new ProvenanceReport
        {
            Test = "agreement",
            Suspect = suspect,
            Verdict = VerdictOf(parent, references[closest], withParent.Average(), withReferences[closest].Average(), test, alpha),
            StatisticName = "prompts where the parent agrees more (sign test)",
            Statistic = test.Positive,
            P = test.P,
            Log10P = Math.Log10(test.P),
            Queries = all.Sum(a => (long)a.Count),
            Tokens = all.Sum(a => a.Sum(c => (long)c.Usage.CompletionTokens)),
            Figures = figures,
            Scope = Scope,
            Created = now,
        };
    }

    private static double[] Agreements(IReadOnlyList<Completion> suspect, IReadOnlyList<Completion> other)
    {
        if (suspect.Count != other.Count) throw new ArgumentException("every model must answer every prompt", nameof(other));
        return [.. suspect.Zip(other, (s, o) => Agreement(s.Text, o.Text))];
    }

    private static string VerdictOf(string parent, string closest, double parentMean, double referenceMean, SignTestResult test, double alpha)
    {
        var figures = string.Create(CultureInfo.InvariantCulture,
            $"agreement {parentMean:P1} with the parent, {referenceMean:P1} with the closest reference {closest}; parent closer on {test.Positive}, reference on {test.Negative}, tied on {test.Ties} prompts");
        return test.P < alpha
            ? $"The suspect agrees with {parent} more than with any reference: consistent with deriving from it, though a parent whose greedy text is more generic than the references' wins this test too ({figures})."
            : $"No evidence at α = {alpha.ToString(CultureInfo.InvariantCulture)} that the suspect derives from {parent} rather than a reference ({figures}).";
    }
}
