using System;
using System.Linq;
using Distillery.Training.Losses;
using static Distillery.Training.Tests.Losses.LossTestHelpers;
using static TorchSharp.torch;

namespace Distillery.Training.Tests.Losses;

/// <summary>The random-sampling estimator against full KL, and the top-k tail policies where the top-k mass rounds above 1.</summary>
public sealed class SparseTargetTests
{
    private static readonly double[] Teacher = [0.45, 0.25, 0.15, 0.08, 0.05, 0.02];
    private static readonly double[] StudentLogits = [0.3, -0.2, 1.1, 0.0, -0.7, 0.4];

    public SparseTargetTests() => EnsureTorch();

    /// <summary>N draws from the teacher as one position's samples: ids (1, N) and their teacher logprobs.</summary>
    private static SampledTeacherTargets Draws(int n, ulong seed)
    {
        using var generator = new Generator(seed);
        var ids = multinomial(tensor(Teacher), n, replacement: true, generator: generator).reshape(1, n);
        return TeacherTargets.Sampled(ids, LogOf(Teacher).gather(-1, ids.reshape(-1)).reshape(1, n));
    }

    [Fact]
    public void TheSampledEstimateConvergesToFullKl()
    {
        var student = Row(StudentLogits).reshape(1, 6);
        var full = Value(DistillationLosses.ForwardKl(student, LogOf(Teacher).reshape(1, 6), AllTrue(1), 1));
        const int n = 400_000;
        var estimate = Value(DistillationLosses.SampledKl(student, Draws(n, 7), AllTrue(1), 1));
        // Tolerance: 5 standard errors of the mean of log p − log q under p.
        var logQ = Row(StudentLogits).log_softmax(-1);
        var terms = LogOf(Teacher) - logQ;
        var p = tensor(Teacher);
        var variance = Value((p * (terms - full).pow(2)).sum());
        var tolerance = 5 * Math.Sqrt(variance / n);
        Assert.True(full > 0.1, $"the test needs a student away from the teacher (KL {full})");
        Assert.True(Math.Abs(estimate - full) < tolerance, $"estimate {estimate:F5} vs full KL {full:F5} (tolerance {tolerance:F5})");
    }

    [Fact]
    public void TheSampledGradientIsUnbiased()
    {
        var full = Gradient(x => DistillationLosses.ForwardKl(x, LogOf(Teacher).reshape(1, 6), AllTrue(1), 1));
        var sampled = Gradient(x => DistillationLosses.SampledKl(x, Draws(400_000, 11), AllTrue(1), 1));
        // ∇ KL = q − p; the estimate's is q − (counts / N): each component within 5 binomial standard errors of p.
        for (var i = 0; i < Teacher.Length; i++)
        {
            var tolerance = 5 * Math.Sqrt(Teacher[i] * (1 - Teacher[i]) / 400_000);
            Assert.True(Math.Abs(full[i] - sampled[i]) < tolerance, $"component {i}: {sampled[i]:F5} vs {full[i]:F5}");
        }
    }

    [Fact]
    public void PaddedSamplesCountForNothing()
    {
        var student = Row(StudentLogits).reshape(1, 6);
        var ids = tensor(new long[] { 0, 2, 2, 5 }).reshape(1, 4);
        var logprobs = LogOf(Teacher).gather(-1, tensor(new long[] { 0, 2, 2, 5 })).reshape(1, 4);
        var padded = cat([logprobs, full(1, 2, double.NegativeInfinity, dtype: ScalarType.Float64)], -1);
        var paddedIds = cat([ids, tensor(new long[] { 3, 1 }).reshape(1, 2)], -1);
        var plain = Value(DistillationLosses.SampledKl(student, TeacherTargets.Sampled(ids, logprobs), AllTrue(1), 1));
        Assert.Equal(plain, Value(DistillationLosses.SampledKl(student, TeacherTargets.Sampled(paddedIds, padded), AllTrue(1), 1)), 12);
        // By hand: the mean of log p − log q over the four draws (0, 2, 2, 5).
        var logQ = Row(StudentLogits).log_softmax(-1);
        var expected = new[] { 0, 2, 2, 5 }.Average(i => Math.Log(Teacher[i]) - logQ[i].item<double>());
        Assert.Equal(expected, plain, 12);
    }

    [Theory]
    [InlineData(TopKTailPolicy.Renormalize)]
    [InlineData(TopKTailPolicy.FoldTailIntoBucket)]
    [InlineData(TopKTailPolicy.UniformTail)]
    public void NoNanWhenTheTopKMassRoundsAboveOne(TopKTailPolicy policy)
    {
        // An API's rounded logprobs: 0.6 + 0.5 > 1.
        var ids = tensor(new long[] { 0, 1 }).reshape(1, 2);
        var logprobs = Row(Math.Log(0.6), Math.Log(0.5)).reshape(1, 2).to_type(ScalarType.Float32);
        var student = Row(StudentLogits).reshape(1, 6).to_type(ScalarType.Float32).requires_grad_(true);
        var loss = DistillationLosses.TopKKl(student, TeacherTargets.TopK(ids, logprobs, policy), AllTrue(1), 1);
        loss.backward();
        Assert.True(double.IsFinite(Value(loss)), $"{policy}: loss {Value(loss)}");
        Assert.False(student.grad!.isnan().any().item<bool>(), $"{policy}: gradient has NaN");
    }

    private static double[] Gradient(Func<Tensor, Tensor> loss)
    {
        var leaf = Row(StudentLogits).reshape(1, 6).requires_grad_(true);
        loss(leaf).backward();
        return leaf.grad!.reshape(-1).data<double>().ToArray();
    }
}
