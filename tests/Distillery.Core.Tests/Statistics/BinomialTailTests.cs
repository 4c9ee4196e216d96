using System;
using System.Linq;
using System.Numerics;
using Distillery.Core.Statistics;

namespace Distillery.Core.Tests.Statistics;

/// <summary>The exact binomial tail against closed forms, an exact rational sum, the complement identity and the method-of-types bounds.</summary>
public sealed class BinomialTailTests
{
    [Theory]
    [InlineData(1, 0.25)]
    [InlineData(17, 0.5)]
    [InlineData(400, 0.1)]
    [InlineData(5000, 0.9)]
    public void The_ends_of_the_tail_have_closed_forms(int n, double p)
    {
        Assert.Equal(1.0, BinomialTail.Upper(n, 0, p));
        Assert.Equal(0.0, BinomialTail.Upper(n, n + 1, p));
        Assert.Equal(Math.Pow(p, n), BinomialTail.Upper(n, n, p), Math.Pow(p, n) * 1e-10);
        Assert.Equal(n * Math.Log(p), BinomialTail.LogUpper(n, n, p), 1e-9 * n);
        Assert.Equal(-double.ExpM1(n * double.LogP1(-p)), BinomialTail.Upper(n, 1, p), 1e-12);
    }

    [Fact]
    public void Every_tail_of_small_n_matches_an_exact_rational_sum()
    {
        foreach (var n in new[] { 1, 2, 7, 30, 60 })
            foreach (var (num, den) in new[] { (1, 10), (1, 4), (1, 2), (9, 10) })
                for (var k = 0; k <= n + 1; k++)
                {
                    var expected = ExactUpper(n, k, num, den);
                    var actual = BinomialTail.Upper(n, k, num / (double)den);
                    Assert.True(Math.Abs(actual - expected) <= 1e-12 * Math.Max(expected, 1e-300) + 1e-300, $"n {n} k {k} p {num}/{den}: {actual} vs {expected}");
                }
    }

    [Theory]
    [InlineData(1000, 0.25)]
    [InlineData(20000, 0.25)]
    [InlineData(333, 0.7)]
    public void Upper_and_lower_tails_add_to_one(int n, double p)
    {
        // P(X ≥ k) + P(n − X ≥ n − k + 1) = 1, the second tail taken under 1 − p.
        foreach (var k in new[] { 1, n / 10, (int)(n * p), (int)(n * p) + 7, n / 2, n - 3 })
            Assert.Equal(1.0, BinomialTail.Upper(n, k, p) + BinomialTail.Upper(n, n - k + 1, 1 - p), 1e-10);
    }

    [Theory]
    [InlineData(10_000, 5_000, 0.25)]
    [InlineData(32_000, 12_000, 0.25)]
    [InlineData(2_000, 1_990, 0.5)]
    public void Far_tails_keep_their_exponent_within_the_method_of_types_bounds(int n, int k, double p)
    {
        // For k/n > p: −n·KL(k/n ‖ p) − ln(n + 1) ≤ ln P(X ≥ k) ≤ −n·KL(k/n ‖ p) (Chernoff; Cover and Thomas 11.1).
        var q = k / (double)n;
        var kl = q * Math.Log(q / p) + (1 - q) * Math.Log((1 - q) / (1 - p));
        var log = BinomialTail.LogUpper(n, k, p);
        Assert.InRange(log, -n * kl - Math.Log(n + 1), -n * kl);
        Assert.True(log < -300, $"ln p {log} should be far below a double's range"); // the log keeps what Upper would round to 0
    }

    [Fact]
    public void Log_choose_matches_exact_big_integer_coefficients()
    {
        for (var n = 0; n <= 120; n += 7)
            for (var k = 0; k <= n; k++)
                Assert.Equal(BigInteger.Log(Choose(n, k)), BinomialTail.LogChoose(n, k), 1e-9);
    }

    [Fact]
    public void The_sign_test_is_the_binomial_half_tail_over_non_zero_differences()
    {
        double[] differences = [0.5, 0.25, -0.1, 0, 0.3, 0.2, 0, 0.1, -0.4, 0.6];
        var result = SignTest.Of(differences);
        Assert.Equal((6, 2, 2), (result.Positive, result.Negative, result.Ties));
        // P(X ≥ 6), X ~ Binomial(8, ½) = (C(8,6) + C(8,7) + C(8,8)) / 256 = 37/256.
        Assert.Equal(37 / 256.0, result.P, 1e-14);
        Assert.Equal(1.0, SignTest.Of([0, 0, 0]).P);
        Assert.Equal(Math.Pow(0.5, 12), SignTest.Of(Enumerable.Repeat(0.1, 12)).P, 1e-16);
    }

    private static BigInteger Choose(int n, int k)
    {
        BigInteger c = 1;
        for (var i = 1; i <= k; i++) c = c * (n - k + i) / i;
        return c;
    }

    /// <summary>Σ_{j ≥ k} C(n, j) num^j (den − num)^(n − j) / den^n in exact integers, then one division.</summary>
    private static double ExactUpper(int n, int k, int num, int den)
    {
        BigInteger sum = 0;
        for (var j = Math.Max(k, 0); j <= n; j++) sum += Choose(n, j) * BigInteger.Pow(num, j) * BigInteger.Pow(den - num, n - j);
        var total = BigInteger.Pow(den, n);
        return sum.IsZero ? 0 : Math.Exp(BigInteger.Log(sum) - BigInteger.Log(total));
    }
}
