using System;
using Distillery.Training.CrossTokenizer;
using static Distillery.Training.Tests.Losses.LossTestHelpers;
using static TorchSharp.torch;

namespace Distillery.Training.Tests.CrossTokenizer;

public sealed class ChunkLikelihoodMatchingTests
{
    public ChunkLikelihoodMatchingTests() => EnsureTorch();

    // One row: teacher 2 tokens, student 3 tokens, chunks {t0 | s0 s1} and {t1 | s2}.
    private static readonly AlignedChunk[][] TwoChunks = [[new(0, 3, 0, 1, 0, 2), new(3, 5, 1, 2, 2, 3)]];

    private static double Bkl(double p, double q) => p * Math.Log(p / q) + (1 - p) * Math.Log((1 - p) / (1 - q));

    [Fact]
    public void IsZeroWhenTheChunkLikelihoodsAgreeThoughTheTokensDiffer()
    {
        var packed = ChunkTensors.Pack(TwoChunks, 3, 2);
        var student = LogOf(0.5, 0.4, 0.3).reshape(1, 3);
        var teacher = Row(Math.Log(0.2), Math.Log(0.3)).reshape(1, 2);
        Assert.Equal(0, Value(CrossTokenizerLosses.ChunkLikelihoodMatching(student, teacher, packed, 2)), 12);
        Assert.Equal(0, Value(CrossTokenizerLosses.ChunkLikelihoodMatching(student, teacher, packed, 2, temperature: 3)), 12);
    }

    [Fact]
    public void IsZeroWithIdenticalTokenizersAndTheSameModel()
    {
        using var g = new Generator(3);
        var logits = randn([2, 4, 6], generator: g, dtype: ScalarType.Float64);
        var tokens = randint(0, 6, [2, 4], generator: g);
        var oneToOne = new AlignedChunk[2][];
        for (var b = 0; b < 2; b++)
        {
            oneToOne[b] = new AlignedChunk[4];
            for (var t = 0; t < 4; t++) oneToOne[b][t] = new(t, t + 1, t, t + 1, t, t + 1);
        }
        var packed = ChunkTensors.Pack(oneToOne, 4, 4);
        var logprobs = CrossTokenizerLosses.TokenLogprobs(logits, tokens);
        Assert.Equal(0, Value(CrossTokenizerLosses.ChunkLikelihoodMatching(logprobs, logprobs, packed, packed.Count)), 12);
    }

    [Fact]
    public void MatchesTheBinarisedKlByHand()
    {
        var packed = ChunkTensors.Pack(TwoChunks, 3, 2);
        // Chunk 1: student 0.5 · 0.5 = 0.25 against teacher 0.5; chunk 2: student 0.8 against teacher 0.6.
        var student = LogOf(0.5, 0.5, 0.8).reshape(1, 3);
        var teacher = LogOf(0.5, 0.6).reshape(1, 2);
        var expected = (Bkl(0.5, 0.25) + Bkl(0.6, 0.8)) / 2;
        Assert.Equal(expected, Value(CrossTokenizerLosses.ChunkLikelihoodMatching(student, teacher, packed, 2)), 12);
        // τ = 2 compares p^½ with q^½.
        var sharpened = (Bkl(Math.Sqrt(0.5), 0.5) + Bkl(Math.Sqrt(0.6), Math.Sqrt(0.8))) / 2;
        Assert.Equal(sharpened, Value(CrossTokenizerLosses.ChunkLikelihoodMatching(student, teacher, packed, 2, temperature: 2)), 12);
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        using var g = new Generator(5);
        var logits = randn([1, 3, 5], generator: g, dtype: ScalarType.Float64);
        var tokens = tensor(new long[,] { { 1, 4, 2 } });
        var packed = ChunkTensors.Pack(TwoChunks, 3, 2);
        var teacher = LogOf(0.3, 0.45).reshape(1, 2);
        foreach (var tau in new[] { 1.0, 4.0 })
        {
            var error = MaxGradientError(logits, x => CrossTokenizerLosses.ChunkLikelihoodMatching(CrossTokenizerLosses.TokenLogprobs(x, tokens), teacher, packed, 2, tau));
            Assert.True(error < 1e-7, $"τ = {tau}: gradient error {error}");
        }
    }

    [Fact]
    public void NoNanForACertainChunkOrAFullyMaskedBatch()
    {
        var packed = ChunkTensors.Pack(TwoChunks, 3, 2);
        // The teacher is certain of chunk 1 (log p = 0) and the student's token is impossible in chunk 2.
        var logits = tensor(new double[,,] { { { 50, -50 }, { 50, -50 }, { double.NegativeInfinity, 0 } } }).requires_grad_(true);
        var tokens = tensor(new long[,] { { 0, 0, 0 } });
        var teacher = Row(0.0, Math.Log(0.5)).reshape(1, 2);
        var loss = CrossTokenizerLosses.ChunkLikelihoodMatching(CrossTokenizerLosses.TokenLogprobs(logits, tokens), teacher, packed, 2);
        loss.backward();
        Assert.True(double.IsFinite(Value(loss)));
        Assert.False(logits.grad!.isnan().any().item<bool>());

        var none = ChunkTensors.Pack(TwoChunks, 3, 2, counts: _ => false);
        var leaf = randn(1, 3, 2, dtype: ScalarType.Float64).requires_grad_(true);
        var zero = CrossTokenizerLosses.ChunkLikelihoodMatching(CrossTokenizerLosses.TokenLogprobs(leaf, tokens), teacher, none, 0);
        zero.backward();
        Assert.Equal(0, Value(zero));
        Assert.Equal(0, Value(leaf.grad!.abs().sum()));
    }
}
