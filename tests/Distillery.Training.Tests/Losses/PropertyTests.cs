using System;
using System.Linq;
using Distillery.Training.Losses;
using TorchSharp;
using static Distillery.Training.Tests.Losses.LossTestHelpers;
using static TorchSharp.torch;

namespace Distillery.Training.Tests.Losses;

public sealed class PropertyTests
{
    private const long B = 2, T = 3, V = 5;

    public PropertyTests() => EnsureTorch();

    private static Tensor Logits(long seed, ScalarType dtype = ScalarType.Float64)
    {
        using var g = new Generator((ulong)seed);
        return (randn([B, T, V], generator: g, dtype: ScalarType.Float64) * 2).to_type(dtype);
    }

    private static Tensor Mask() => tensor(new[,] { { true, true, false }, { true, false, true } });

    [Fact]
    public void EveryDivergenceOfADistributionFromItselfIsZero()
    {
        var x = Logits(1);
        var mask = Mask();
        Assert.Equal(0, Value(DistillationLosses.ForwardKl(x, x, mask, 4, temperature: 3)), 12);
        Assert.Equal(0, Value(DistillationLosses.ReverseKl(x, x, mask, 4)), 12);
        foreach (var beta in new[] { 0.0, 0.1, 0.5, 0.9, 1.0 })
            Assert.Equal(0, Value(DistillationLosses.GeneralizedJsd(x, x, beta, mask, 4)), 12);
        var (logprobs, ids) = x.log_softmax(-1).topk(3);
        foreach (var policy in new[] { TopKTailPolicy.Renormalize, TopKTailPolicy.FoldTailIntoBucket })
            Assert.Equal(0, Value(DistillationLosses.TopKKl(x, TeacherTargets.TopK(ids, logprobs, policy), mask, 4)), 10);
        // The uniform tail is a full distribution p̃ (top-3 kept, the rest flat): zero against a student equal to p̃, not to p.
        var tail = (1 - logprobs.exp().sum(-1, keepdim: true)) / (V - 3);
        var flat = tail.expand(B, T, V).clone().scatter(-1, ids, logprobs.exp()).log();
        Assert.Equal(0, Value(DistillationLosses.TopKKl(flat, TeacherTargets.TopK(ids, logprobs, TopKTailPolicy.UniformTail), mask, 4)), 10);
        Assert.True(Value(DistillationLosses.TopKKl(x, TeacherTargets.TopK(ids, logprobs, TopKTailPolicy.UniformTail), mask, 4)) > 1e-3);
    }

    [Fact]
    public void JsdAtOneHalfIsSymmetric()
    {
        var a = Logits(2);
        var b = Logits(3);
        var ab = Value(DistillationLosses.GeneralizedJsd(a, b, 0.5, Mask(), 4));
        var ba = Value(DistillationLosses.GeneralizedJsd(b, a, 0.5, Mask(), 4));
        Assert.True(ab > 0.01);
        Assert.Equal(ab, ba, 12);
        // And bounded by ln 2, as every JSD is.
        Assert.True(ab <= Math.Log(2));
    }

    [Fact]
    public void JsdEndpointsAreTheKlsAndTheInteriorApproachesThemAfterScaling()
    {
        var s = Logits(4);
        var t = Logits(5);
        var mask = Mask();
        var forward = Value(DistillationLosses.ForwardKl(s, t, mask, 4));
        var reverse = Value(DistillationLosses.ReverseKl(s, t, mask, 4));
        Assert.Equal(forward, Value(DistillationLosses.GeneralizedJsd(s, t, 0, mask, 4)), 12);
        Assert.Equal(reverse, Value(DistillationLosses.GeneralizedJsd(s, t, 1, mask, 4)), 12);
        // β = 0 is forward KL(teacher‖student), per the GKD paper's JSD(β) ≈ β·KL(P‖Q) for small β (P = teacher).
        const double small = 1e-5;
        Assert.Equal(1.0, Value(DistillationLosses.GeneralizedJsd(s, t, small, mask, 4)) / small / forward, 3);
        Assert.Equal(1.0, Value(DistillationLosses.GeneralizedJsd(s, t, 1 - small, mask, 4)) / small / reverse, 3);
    }

    [Theory]
    [InlineData(TopKTailPolicy.Renormalize)]
    [InlineData(TopKTailPolicy.FoldTailIntoBucket)]
    [InlineData(TopKTailPolicy.UniformTail)]
    public void TopKEqualsDenseWhenKIsTheVocabulary(TopKTailPolicy policy)
    {
        var s = Logits(6, ScalarType.Float32);
        var t = Logits(7, ScalarType.Float32);
        // All V alternatives, in a shuffled (not sorted) order, as log-probabilities.
        var ids = stack([tensor(new long[] { 3, 0, 4, 1, 2 }), tensor(new long[] { 1, 2, 0, 4, 3 }), tensor(new long[] { 4, 3, 2, 1, 0 })]).expand(B, T, V).contiguous();
        var logprobs = t.log_softmax(-1).gather(-1, ids);
        var dense = Value(DistillationLosses.ForwardKl(s, t, Mask(), 4));
        var sparse = Value(DistillationLosses.TopKKl(s, TeacherTargets.TopK(ids, logprobs, policy), Mask(), 4));
        Assert.True(dense > 0.1);
        Assert.Equal(dense, sparse, 5);
    }

    [Fact]
    public void NoNanWithAFullyMaskedRowOrMinusInfinityLogprobs()
    {
        var s = Logits(8, ScalarType.Float32).clone();
        var t = Logits(9, ScalarType.Float32).clone();
        // Teacher and student both rule out some tokens entirely.
        t[0, 0, 1] = tensor(float.NegativeInfinity); t[1, 2, 4] = tensor(float.NegativeInfinity); t[1, 2, 3] = tensor(float.NegativeInfinity);
        s[0, 0, 2] = tensor(float.NegativeInfinity); s[1, 2, 4] = tensor(float.NegativeInfinity);
        var rowMasked = tensor(new[,] { { false, false, false }, { true, true, true } });
        var (logprobs, ids) = t.log_softmax(-1).topk(3);
        logprobs[1, 0, 2] = tensor(float.NegativeInfinity); // a position where the API returned only two alternatives
        var losses = new Func<Tensor, Tensor>[]
        {
            x => DistillationLosses.CrossEntropy(x, tensor(new long[,] { { 0, 1, 2 }, { 3, 4, 0 } }), rowMasked, 3),
            x => DistillationLosses.ForwardKl(x, t, rowMasked, 3, temperature: 2),
            x => DistillationLosses.ReverseKl(x, t, rowMasked, 3),
            x => DistillationLosses.GeneralizedJsd(x, t, 0.5, rowMasked, 3),
            x => DistillationLosses.TopKKl(x, TeacherTargets.TopK(ids, logprobs, TopKTailPolicy.Renormalize), rowMasked, 3),
            x => DistillationLosses.TopKKl(x, TeacherTargets.TopK(ids, logprobs, TopKTailPolicy.FoldTailIntoBucket), rowMasked, 3),
            x => DistillationLosses.TopKKl(x, TeacherTargets.TopK(ids, logprobs, TopKTailPolicy.UniformTail), rowMasked, 3),
            x => DistillationLosses.SampledKl(x, TeacherTargets.Sampled(ids, logprobs), rowMasked, 3),
        };
        foreach (var loss in losses)
        {
            var leaf = s.detach().clone().requires_grad_(true);
            var value = loss(leaf);
            value.backward();
            Assert.True(double.IsFinite(Value(value)), "loss is not finite");
            Assert.False(leaf.grad!.isnan().any().item<bool>(), "gradient has NaN");
            // The fully masked row gets no gradient at all.
            Assert.Equal(0, Value(leaf.grad![0].abs().sum()));
        }
        // Nothing unmasked anywhere: a zero loss, not 0/0.
        var none = zeros(B, T, dtype: ScalarType.Bool);
        Assert.Equal(0, Value(DistillationLosses.ForwardKl(s, t, none, 0)));
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        var s = Logits(10);
        var t = Logits(11);
        var mask = Mask();
        var targets = tensor(new long[,] { { 0, 4, 2 }, { 3, 1, 1 } });
        var (logprobs, ids) = t.log_softmax(-1).topk(3);
        var cases = new (string Name, Func<Tensor, Tensor> Loss)[]
        {
            ("cross-entropy", x => DistillationLosses.CrossEntropy(x, targets, mask, 4)),
            ("forward KL T=2", x => DistillationLosses.ForwardKl(x, t, mask, 4, temperature: 2)),
            ("reverse KL T=1.5", x => DistillationLosses.ReverseKl(x, t, mask, 4, temperature: 1.5)),
            ("JSD beta=0.3", x => DistillationLosses.GeneralizedJsd(x, t, 0.3, mask, 4)),
            ("top-k renormalise", x => DistillationLosses.TopKKl(x, TeacherTargets.TopK(ids, logprobs, TopKTailPolicy.Renormalize), mask, 4)),
            ("top-k fold tail", x => DistillationLosses.TopKKl(x, TeacherTargets.TopK(ids, logprobs, TopKTailPolicy.FoldTailIntoBucket), mask, 4)),
            ("top-k uniform tail", x => DistillationLosses.TopKKl(x, TeacherTargets.TopK(ids, logprobs, TopKTailPolicy.UniformTail), mask, 4)),
            ("sampled", x => DistillationLosses.SampledKl(x, TeacherTargets.Sampled(ids, logprobs), mask, 4)),
            ("alpha mix", x => DistillationLosses.AlphaMix(DistillationLosses.ForwardKl(x, t, mask, 4, 3), DistillationLosses.CrossEntropy(x, targets, mask, 4), 0.7)),
            ("hidden MSE", x => DistillationLosses.HiddenStateMatch(x, t, HiddenStateMetric.Mse, mask, 4)),
            ("hidden cosine", x => DistillationLosses.HiddenStateMatch(x, t, HiddenStateMetric.Cosine, mask, 4)),
        };
        foreach (var (name, loss) in cases)
        {
            var error = MaxGradientError(s, loss);
            Assert.True(error < 1e-7, $"{name}: gradient differs from finite differences by {error:E2}");
        }
    }

    [Fact]
    public void ProjectionGradientMatchesFiniteDifferences()
    {
        using var projection = new HiddenStateProjection(4, 5);
        projection.to(ScalarType.Float64);
        var student = Logits(12).narrow(-1, 0, 4).contiguous();
        var teacher = Logits(13);
        var weight = projection.parameters().First();
        double Loss() => Value(DistillationLosses.HiddenStateMatch(student, teacher, HiddenStateMetric.Cosine, Mask(), 4, projection));
        DistillationLosses.HiddenStateMatch(student, teacher, HiddenStateMetric.Cosine, Mask(), 4, projection).backward();
        var analytic = weight.grad!.detach().clone();
        const double eps = 1e-6;
        var worst = 0.0;
        using (no_grad())
        {
            for (long i = 0; i < weight.shape[0]; i++)
            for (long j = 0; j < weight.shape[1]; j++)
            {
                var original = weight[i, j].item<double>();
                weight[i, j] = tensor(original + eps);
                var plus = Loss();
                weight[i, j] = tensor(original - eps);
                var minus = Loss();
                weight[i, j] = tensor(original);
                worst = Math.Max(worst, Math.Abs((plus - minus) / (2 * eps) - analytic[i, j].item<double>()));
            }
        }
        Assert.True(worst < 1e-7, $"projection gradient differs from finite differences by {worst:E2}");
    }
}
