using System;
using Distillery.Evaluation.Metrics;
using Distillery.Models.Runtime;
using static TorchSharp.torch;

namespace Distillery.Evaluation.Tests.Metrics;

public sealed class TokenMetricsTests
{
    public TokenMetricsTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Kl_matches_a_hand_computed_value_and_respects_the_mask()
    {
        // Teacher p = (0.5, 0.5), student q = (0.25, 0.75): KL = 0.5 ln 2 + 0.5 ln(2/3).
        var teacher = log(tensor(new float[] { 0.5f, 0.5f, 0.9f, 0.1f }).reshape(1, 2, 2));
        var student = log(tensor(new float[] { 0.25f, 0.75f, 0.1f, 0.9f }).reshape(1, 2, 2));
        var expected = 0.5 * Math.Log(2) + 0.5 * Math.Log(2.0 / 3);
        var onlyFirst = tensor(new float[] { 1, 0 }).reshape(1, 2);
        Assert.Equal(expected, TokenMetrics.KlSum(teacher, student, onlyFirst), 5);
        Assert.Equal(0, TokenMetrics.KlSum(student, student, ones(1, 2)), 6);
    }

    [Fact]
    public void Kl_is_finite_where_the_teacher_gives_zero_probability()
    {
        var teacher = tensor(new float[] { 0, float.NegativeInfinity }).reshape(1, 1, 2);
        var student = tensor(new float[] { 0, 0 }).reshape(1, 1, 2);
        Assert.Equal(Math.Log(2), TokenMetrics.KlSum(teacher, student, ones(1, 1)), 5);
    }

    [Fact]
    public void Nll_and_perplexity_match_closed_form()
    {
        // Uniform over 4 tokens: −log p = ln 4 at each of 3 unmasked positions; perplexity 4.
        var logits = zeros(1, 4, 4);
        var targets = tensor(new long[] { 0, 1, 2, 3 }).reshape(1, 4);
        var mask = tensor(new float[] { 1, 1, 1, 0 }).reshape(1, 4);
        var nll = TokenMetrics.NegativeLogLikelihoodSum(logits, targets, mask);
        Assert.Equal(3 * Math.Log(4), nll, 5);
        Assert.Equal(4, TokenMetrics.Perplexity(nll, 3), 5);
    }

    [Fact]
    public void Agreement_counts_only_unmasked_matching_argmaxes()
    {
        var teacher = tensor(new float[] { 1, 0, 0, 1, 1, 0 }).reshape(1, 3, 2);
        var student = tensor(new float[] { 2, 0, 1, 0, 3, 0 }).reshape(1, 3, 2);
        Assert.Equal(2, TokenMetrics.AgreementCount(teacher, student, ones(1, 3)));
        Assert.Equal(1, TokenMetrics.AgreementCount(teacher, student, tensor(new float[] { 1, 1, 0 }).reshape(1, 3)));
    }
}
