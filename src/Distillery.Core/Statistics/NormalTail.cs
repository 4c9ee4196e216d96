using System;

namespace Distillery.Core.Statistics;

/// <summary>The upper tail of the standard normal distribution, in log space so that far tails keep their exponent.</summary>
public static class NormalTail
{
    /// <summary>P(Z ≥ z) for Z ~ N(0, 1).</summary>
    public static double Upper(double z) => Math.Exp(LogUpper(z));

    /// <summary>
    /// ln P(Z ≥ z) = ln(erfc(z/√2) / 2), with erfc from the Chebyshev fit of Numerical Recipes (2nd ed., §6.2, "erfcc"), whose
    /// relative error is below 1.2e-7 for every argument, so the logarithm stays accurate deep into the tail.
    /// </summary>
    public static double LogUpper(double z)
    {
        if (double.IsNaN(z)) return double.NaN;
        if (z < 0) return double.LogP1(-Math.Exp(LogUpper(-z)));
        var x = z / Math.Sqrt(2);
        var t = 1 / (1 + 0.5 * x);
        var poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
            + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
        return Math.Log(t) - x * x + poly - Math.Log(2);
    }
}
