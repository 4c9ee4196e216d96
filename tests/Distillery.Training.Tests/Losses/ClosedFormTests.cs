using System;
using Distillery.Training.Losses;
using TorchSharp;
using static Distillery.Training.Tests.Losses.LossTestHelpers;
using static TorchSharp.torch;

namespace Distillery.Training.Tests.Losses;

public sealed class ClosedFormTests
{
    public ClosedFormTests() => EnsureTorch();

    [Fact]
    public void CrossEntropy_MatchesHandComputedNllOverUnmaskedPositions()
    {
        // Probabilities (1/4, 1/2, 1/4) at every position; targets 1 and 0 count, the third position is masked.
        var logits = stack([LogOf(1, 2, 1), LogOf(1, 2, 1), LogOf(1, 2, 1)]);
        var targets = tensor(new long[] { 1, 0, 2 });
        var mask = tensor(new[] { true, true, false });
        var loss = DistillationLosses.CrossEntropy(logits, targets, mask, normalizer: 2);
        Assert.Equal((Math.Log(2) + Math.Log(4)) / 2, Value(loss), 12);
    }

    [Fact]
    public void ForwardAndReverseKl_MatchHandComputedValues()
    {
        var student = LogOf(0.25, 0.75).unsqueeze(0);
        var teacher = LogOf(0.5, 0.5).unsqueeze(0);
        var mask = AllTrue(1);
        var forward = 0.5 * Math.Log(0.5 / 0.25) + 0.5 * Math.Log(0.5 / 0.75);
        var reverse = 0.25 * Math.Log(0.25 / 0.5) + 0.75 * Math.Log(0.75 / 0.5);
        Assert.Equal(forward, Value(DistillationLosses.ForwardKl(student, teacher, mask, 1)), 12);
        Assert.Equal(reverse, Value(DistillationLosses.ReverseKl(student, teacher, mask, 1)), 12);
        Assert.NotEqual(forward, reverse, 6);
    }

    [Fact]
    public void ForwardKl_AtTemperatureSoftensBothAndScalesByTSquared()
    {
        // Teacher logits (ln 4, 0) at T = 2 give (2/3, 1/3); student logits (0, 0) give (1/2, 1/2).
        var teacher = Row(Math.Log(4), 0).unsqueeze(0);
        var student = Row(0, 0).unsqueeze(0);
        var expected = 4 * (2.0 / 3 * Math.Log(2.0 / 3 / 0.5) + 1.0 / 3 * Math.Log(1.0 / 3 / 0.5));
        Assert.Equal(expected, Value(DistillationLosses.ForwardKl(student, teacher, AllTrue(1), 1, temperature: 2)), 12);
    }

    [Fact]
    public void GeneralizedJsd_MatchesTheGkdFormulaByHand()
    {
        const double beta = 0.3;
        double[] p = [0.5, 0.5], q = [0.25, 0.75];
        double klPm = 0, klQm = 0;
        for (var i = 0; i < 2; i++)
        {
            var m = beta * p[i] + (1 - beta) * q[i];
            klPm += p[i] * Math.Log(p[i] / m);
            klQm += q[i] * Math.Log(q[i] / m);
        }
        var loss = DistillationLosses.GeneralizedJsd(LogOf(q).unsqueeze(0), LogOf(p).unsqueeze(0), beta, AllTrue(1), 1);
        Assert.Equal(beta * klPm + (1 - beta) * klQm, Value(loss), 12);
    }

    [Fact]
    public void TopKKl_RenormalizeAndFoldTail_MatchHandComputedValues()
    {
        // Teacher gives ids 2 and 0 with probabilities 0.4 and 0.2 (tail 0.4); student is (0.1, 0.2, 0.3, 0.4).
        var student = LogOf(0.1, 0.2, 0.3, 0.4).unsqueeze(0);
        var ids = tensor(new long[] { 2, 0 }).unsqueeze(0);
        var logprobs = LogOf(0.4, 0.2).unsqueeze(0);
        var renorm = DistillationLosses.TopKKl(student, TeacherTargets.TopK(ids, logprobs, TopKTailPolicy.Renormalize), AllTrue(1), 1);
        var fold = DistillationLosses.TopKKl(student, TeacherTargets.TopK(ids, logprobs, TopKTailPolicy.FoldTailIntoBucket), AllTrue(1), 1);
        var expectedRenorm = 2.0 / 3 * Math.Log(2.0 / 3 / 0.75) + 1.0 / 3 * Math.Log(1.0 / 3 / 0.25);
        var expectedFold = 0.4 * Math.Log(0.4 / 0.3) + 0.2 * Math.Log(0.2 / 0.1) + 0.4 * Math.Log(0.4 / 0.6);
        Assert.Equal(expectedRenorm, Value(renorm), 10);
        Assert.Equal(expectedFold, Value(fold), 10);
    }

    [Fact]
    public void AlphaMix_WeighsKdAndCrossEntropy()
    {
        var mixed = DistillationLosses.AlphaMix(tensor(2.0), tensor(10.0), alpha: 0.25);
        Assert.Equal(0.25 * 2 + 0.75 * 10, Value(mixed), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => DistillationLosses.AlphaMix(tensor(1.0), tensor(1.0), 1.5));
    }

    [Fact]
    public void HiddenStateMatch_MseAndCosineByHand()
    {
        var student = stack([Row(1, 2), Row(1, 0)]);
        var teacher = stack([Row(0, 0), Row(0, 1)]);
        var mask = AllTrue(2);
        // MSE: ((1 + 4) / 2 + (1 + 1) / 2) / 2 positions.
        Assert.Equal((2.5 + 1.0) / 2, Value(DistillationLosses.HiddenStateMatch(student, teacher, HiddenStateMetric.Mse, mask, 2)), 12);
        // Cosine: the second pair is orthogonal (1 − 0 = 1); only it is unmasked.
        var onlySecond = tensor(new[] { false, true });
        Assert.Equal(1.0, Value(DistillationLosses.HiddenStateMatch(student, teacher, HiddenStateMetric.Cosine, onlySecond, 1)), 12);
    }

    [Fact]
    public void HiddenStateMatch_DifferentWidthsNeedAProjection()
    {
        var student = randn(3, 4, dtype: ScalarType.Float64);
        var teacher = randn(3, 6, dtype: ScalarType.Float64);
        Assert.Throws<ArgumentException>(() => DistillationLosses.HiddenStateMatch(student, teacher, HiddenStateMetric.Mse, AllTrue(3), 3));
        using var projection = new HiddenStateProjection(4, 6);
        projection.to(ScalarType.Float64);
        var loss = DistillationLosses.HiddenStateMatch(student, teacher, HiddenStateMetric.Mse, AllTrue(3), 3, projection);
        loss.backward();
        foreach (var p in projection.parameters()) Assert.True(Value(p.grad!.abs().sum()) > 0);
    }
}
