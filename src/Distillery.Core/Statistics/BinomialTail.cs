using System;

namespace Distillery.Core.Statistics;

/// <summary>The exact upper tail of the binomial distribution, summed in log space so that tails far below 1e-300 keep their exponent.</summary>
public static class BinomialTail
{
    /// <summary>P(X ≥ k) for X ~ Binomial(n, p).</summary>
    public static double Upper(long n, long k, double p) => Math.Exp(LogUpper(n, k, p));

    /// <summary>
    /// ln P(X ≥ k) for X ~ Binomial(n, p): ln Σ_{j=k..n} C(n, j) p^j (1 − p)^(n − j), each term from the one before it by the
    /// ratio (n − j)/(j + 1) · p/(1 − p), summed relative to the largest term (terms past it that cannot move a double are left off).
    /// </summary>
    public static double LogUpper(long n, long k, double p)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "p must lie in [0, 1]");
        if (k <= 0) return 0;
        if (k > n) return double.NegativeInfinity;
        if (p == 0) return double.NegativeInfinity;
        if (p == 1) return 0;
        var logRatio = Math.Log(p) - double.LogP1(-p);
        var term = LogChoose(n, k) + k * Math.Log(p) + (n - k) * double.LogP1(-p); // ln P(X = k)
        double max = term, sum = 1; // Σ exp(term_j − max)
        for (var j = k; j < n; j++)
        {
            term += Math.Log((double)(n - j) / (j + 1)) + logRatio;
            if (term > max)
            {
                sum = sum * Math.Exp(max - term) + 1;
                max = term;
            }
            else
            {
                sum += Math.Exp(term - max);
                if (term < max - 50) break; // past the mode the terms only shrink; e^-50 cannot change the sum
            }
        }
        return Math.Min(0, max + Math.Log(sum));
    }

    /// <summary>ln C(n, k), summed as Σ ln((n − k + i)/i) over the smaller of k and n − k.</summary>
    public static double LogChoose(long n, long k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (k < 0 || k > n) return double.NegativeInfinity;
        var m = Math.Min(k, n - k);
        double sum = 0;
        for (long i = 1; i <= m; i++) sum += Math.Log((double)(n - m + i) / i);
        return sum;
    }
}
