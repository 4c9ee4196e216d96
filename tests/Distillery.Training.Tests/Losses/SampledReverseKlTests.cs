using System;
using Distillery.Training.Losses;
using static Distillery.Training.Tests.Losses.LossTestHelpers;
using static TorchSharp.torch;

namespace Distillery.Training.Tests.Losses;

public sealed class SampledReverseKlTests
{
    private const long B = 2, T = 3, V = 5;

    private static Tensor Logits(long seed)
    {
        using var g = new Generator((ulong)seed);
        return randn([B, T, V], generator: g, dtype: ScalarType.Float64) * 2;
    }

    private static Tensor Mask() => tensor(new[,] { { true, true, false }, { true, false, true } });

    private static Tensor Targets() => tensor(new long[,] { { 0, 4, 2 }, { 3, 1, 1 } });

    [Fact]
    public void AnIdenticalTeacherGivesZeroLossAndZeroGradient()
    {
        var x = Logits(1);
        var leaf = x.detach().clone().requires_grad_(true);
        var loss = DistillationLosses.SampledReverseKl(leaf, x, Targets(), Mask(), 4);
        loss.backward();
        Assert.Equal(0, Value(loss), 12);
        Assert.Equal(0, Value(leaf.grad!.abs().max()), 12);
    }

    [Fact]
    public void ItsGradientAveragedOverTheStudentsOwnSamplesIsTheDenseReverseKlGradient()
    {
        // E_{y ~ q}[∇(−A(y)·log q(y))] = ∇ KL(q ‖ p) at every position: enumerate y exactly, weighted by q(y).
        var s = Logits(2);
        var t = Logits(3);
        var mask = Mask();
        var dense = s.detach().clone().requires_grad_(true);
        DistillationLosses.ReverseKl(dense, t, mask, 4).backward();

        var q = s.softmax(-1);
        var expected = zeros_like(s);
        for (long y = 0; y < V; y++)
        {
            var leaf = s.detach().clone().requires_grad_(true);
            var targets = full([B, T], y, dtype: ScalarType.Int64);
            DistillationLosses.SampledReverseKl(leaf, t, targets, mask, 4).backward();
            expected += q[.., .., (int)y].unsqueeze(-1) * leaf.grad!;
        }
        Assert.True(Value(dense.grad!.abs().max()) > 0.01);
        Assert.Equal(0, Value((expected - dense.grad!).abs().max()), 10);
    }

    [Fact]
    public void TheAdvantageIsTeacherMinusStudentLogProbabilityOfTheSampledToken()
    {
        // One position, V = 2: q = (0.8, 0.2), p = (0.5, 0.5); sampled token 0.
        var q = LogOf(0.8, 0.2).reshape(1, 1, 2);
        var p = LogOf(0.5, 0.5).reshape(1, 1, 2);
        var loss = DistillationLosses.SampledReverseKl(q, p, tensor(new long[,] { { 0 } }), AllTrue(1, 1), 1);
        var advantage = Math.Log(0.5) - Math.Log(0.8);
        Assert.Equal(-advantage * Math.Log(0.8), Value(loss), 12);
    }

    [Fact]
    public void MaskedPositionsGetNoGradientAndPaddingIdsAreHarmless()
    {
        var s = Logits(4);
        var t = Logits(5);
        var targets = Targets().clone();
        targets[0, 2] = tensor(-1L); // padding in a masked position
        var leaf = s.detach().clone().requires_grad_(true);
        var loss = DistillationLosses.SampledReverseKl(leaf, t, targets, Mask(), 4);
        loss.backward();
        Assert.True(double.IsFinite(Value(loss)));
        Assert.Equal(0, Value(leaf.grad![0, 2].abs().sum()));
        Assert.Equal(0, Value(leaf.grad![1, 1].abs().sum()));
    }

    [Fact]
    public void FromTheTeachersTokenLogprobsItIsTheLossFromItsLogits()
    {
        var s = Logits(6);
        var t = Logits(7);
        var targets = Targets();
        var logP = t.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        var fromLogits = DistillationLosses.SampledReverseKl(s, t, targets, Mask(), 4);
        var fromTokens = DistillationLosses.SampledReverseKlFromTeacherLogprobs(s, logP, targets, Mask(), 4);
        var ownChunks = DistillationLosses.SampledReverseKlFromTeacherLogprobs(s, logP, targets, Mask(), 4, arange(T).expand(B, T).contiguous());
        Assert.Equal(Value(fromLogits), Value(fromTokens), 12);
        Assert.Equal(Value(fromLogits), Value(ownChunks), 12); // every position its own chunk is the per-token form
    }

    [Fact]
    public void AChunkSharesOneAdvantageTeacherMinusStudentOverTheChunk()
    {
        // Row 0: positions 0 and 1 form one chunk whose teacher logprob (its total) lies on position 0; position 2 is masked.
        var s = Logits(8);
        var targets = Targets();
        var mask = tensor(new[,] { { true, true, false }, { true, true, true } });
        var teacher = tensor(new double[,] { { -3.0, 0.0, 0.0 }, { -1.0, -2.0, -0.5 } });
        var chunks = tensor(new long[,] { { 0, 0, 2 }, { 0, 1, 2 } });
        var leaf = s.detach().clone().requires_grad_(true);
        var loss = DistillationLosses.SampledReverseKlFromTeacherLogprobs(leaf, teacher, targets, mask, 5, chunks);
        loss.backward();

        var logQ = s.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        var chunkQ = Value(logQ[0, 0]) + Value(logQ[0, 1]);
        var expected = -(-3.0 - chunkQ) * chunkQ;
        for (var p = 0; p < 3; p++) expected += -(Value(teacher[1, p]) - Value(logQ[1, p])) * Value(logQ[1, p]);
        Assert.Equal(expected / 5, Value(loss), 10);
        // The gradient is −A_c ∇ log q(chunk) / normaliser: on position 1 of row 0 as on position 0 the chunk's advantage.
        var reference = s.detach().clone().requires_grad_(true);
        var referenceLogQ = reference.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        (-(-3.0 - chunkQ) * (referenceLogQ[0, 0] + referenceLogQ[0, 1]) / 5).backward();
        Assert.Equal(0, Value((leaf.grad![0] - reference.grad![0]).abs().max()), 10);
    }

    [Fact]
    public void ChunksOfAnIdenticalTeacherGiveZeroLossAndZeroGradient()
    {
        var x = Logits(9);
        var targets = Targets();
        var logP = x.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        // The whole of row 1 is one chunk: its teacher total on position 0, zeros on the others.
        var teacher = logP.clone();
        teacher[1, 0] = logP[1].sum();
        teacher[1, 1] = tensor(0.0, dtype: ScalarType.Float64);
        teacher[1, 2] = tensor(0.0, dtype: ScalarType.Float64);
        var chunks = tensor(new long[,] { { 0, 1, 2 }, { 0, 0, 0 } });
        var leaf = x.detach().clone().requires_grad_(true);
        var loss = DistillationLosses.SampledReverseKlFromTeacherLogprobs(leaf, teacher, targets, AllTrue(B, T), 6, chunks);
        loss.backward();
        Assert.Equal(0, Value(loss), 12);
        Assert.Equal(0, Value(leaf.grad!.abs().max()), 12);
    }
}
