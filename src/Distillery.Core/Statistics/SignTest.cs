using System;
using System.Collections.Generic;

namespace Distillery.Core.Statistics;

/// <summary>
/// The one-sided paired sign test: under H0 "the median paired difference is ≤ 0", each non-zero difference is positive with
/// probability at most ½, so the p-value is P(X ≥ positives) for X ~ Binomial(positives + negatives, ½). Exact and free of any
/// assumption on the differences' distribution; ties (zero differences) carry no evidence and are dropped.
/// </summary>
public static class SignTest
{
    /// <summary>The test's result over paired differences.</summary>
    public static SignTestResult Of(IEnumerable<double> differences)
    {
        ArgumentNullException.ThrowIfNull(differences);
        int positive = 0, negative = 0, ties = 0;
        foreach (var d in differences)
        {
            if (d > 0) positive++;
            else if (d < 0) negative++;
            else ties++;
        }
        return new SignTestResult(positive, negative, ties, BinomialTail.Upper(positive + negative, positive, 0.5));
    }
}

/// <summary>Positive, negative and zero differences, and the one-sided p-value.</summary>
public sealed record SignTestResult(int Positive, int Negative, int Ties, double P);
