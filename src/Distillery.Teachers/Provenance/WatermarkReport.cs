using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Chat;
using Distillery.Core.Provenance;

namespace Distillery.Teachers.Provenance;

/// <summary>The report both watermark tests write: a z statistic, its p, and what the suspect was asked.</summary>
internal static class WatermarkReport
{
    /// <summary>The report of <paramref name="test"/> on <paramref name="suspect"/>'s <paramref name="completions"/>.</summary>
    public static ProvenanceReport Of(string test, string suspect, string verdict, double z, double log10P, IReadOnlyList<Completion> completions,
        Dictionary<string, double> figures, string scope, DateTimeOffset now) => new()
    {
        Test = test,
        Suspect = suspect,
        Verdict = verdict,
        StatisticName = "z",
        Statistic = z,
        P = Math.Pow(10, log10P),
        Log10P = log10P,
        Queries = completions.Count,
        Tokens = completions.Sum(c => (long)c.Usage.CompletionTokens),
        Figures = figures,
        Scope = scope,
        Created = now,
    };
}
