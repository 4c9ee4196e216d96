using System;
using Distillery.Core.Statistics;

namespace Distillery.Core.Tests.Statistics;

/// <summary>The normal tail against published values of Φ̄ (to 10 significant digits), symmetry, and a numerical integral of the density.</summary>
public sealed class NormalTailTests
{
    [Theory]
    [InlineData(0.0, 0.5)]
    [InlineData(1.0, 0.1586552539)]
    [InlineData(1.6448536270, 0.05)]
    [InlineData(3.0, 1.349898032e-3)]
    [InlineData(6.0, 9.865876450e-10)]
    [InlineData(10.0, 7.619853024e-24)]
    [InlineData(20.0, 2.753624118e-89)]
    public void The_tail_matches_published_values_to_a_relative_1e_6(double z, double expected)
    {
        Assert.Equal(Math.Log(expected), NormalTail.LogUpper(z), 1e-6);
        Assert.Equal(1.0, NormalTail.Upper(z) / expected, 1e-6);
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(2.5)]
    public void Both_tails_sum_to_one(double z) => Assert.Equal(1.0, NormalTail.Upper(z) + NormalTail.Upper(-z), 1e-7);

    [Fact]
    public void The_tail_equals_the_integral_of_the_density()
    {
        // Simpson's rule on [1.2, 12] of φ(x) = exp(−x²/2)/√(2π); the rest beyond 12 is below 1e-32.
        const int n = 20_000;
        double a = 1.2, b = 12, h = (b - a) / n, sum = 0;
        for (var i = 0; i <= n; i++)
        {
            var x = a + i * h;
            sum += (i == 0 || i == n ? 1 : i % 2 == 1 ? 4 : 2) * Math.Exp(-x * x / 2);
        }
        var integral = sum * h / 3 / Math.Sqrt(2 * Math.PI);
        Assert.Equal(1.0, NormalTail.Upper(1.2) / integral, 1e-6);
    }

    [Fact]
    public void NaN_stays_NaN() => Assert.True(double.IsNaN(NormalTail.LogUpper(double.NaN)));
}
