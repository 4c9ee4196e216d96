using System;
using System.Linq;
using Distillery.Training.CrossTokenizer;
using Distillery.Training.Losses;
using static Distillery.Training.Tests.Losses.LossTestHelpers;
using static TorchSharp.torch;

namespace Distillery.Training.Tests.CrossTokenizer;

/// <summary>ULD and the matched/unmatched hybrid, for a local teacher with full logits.</summary>
public sealed class LogitLossTests
{
    public LogitLossTests() => EnsureTorch();

    private static ChunkTensors OneChunk() => ChunkTensors.Pack([[new AlignedChunk(0, 1, 0, 1, 0, 1)]], 1, 1);

    private static ChunkTensors OneToOne(int rows, int length)
    {
        var chunks = Enumerable.Range(0, rows).Select(_ => (AlignedChunk[])[.. Enumerable.Range(0, length).Select(t => new AlignedChunk(t, t + 1, t, t + 1, t, t + 1))]).ToArray();
        return ChunkTensors.Pack(chunks, length, length);
    }

    private static VocabularyMap Identity(int v) => VocabularyMap.FromPairs(Enumerable.Range(0, v).Select(i => (i, i)), v, v);

    [Fact]
    public void UldIsTheL1DistanceOfSortedProbabilitiesPaddedWithZeros()
    {
        // Teacher (0.7, 0.2, 0.1) and student (0.1, 0.3, 0.6) sort to (0.7, 0.2, 0.1) and (0.6, 0.3, 0.1): 0.1 + 0.1 + 0.
        var uld = CrossTokenizerLosses.UniversalLogitDistillation(LogOf(0.1, 0.3, 0.6).reshape(1, 1, 3), LogOf(0.7, 0.2, 0.1).reshape(1, 1, 3), OneChunk(), 1);
        Assert.Equal(0.2, Value(uld), 12);
        // Vocabularies of 2 and 3: (0.5, 0.5, 0) against (0.5, 0.3, 0.2).
        var padded = CrossTokenizerLosses.UniversalLogitDistillation(LogOf(0.3, 0.2, 0.5).reshape(1, 1, 3), LogOf(0.5, 0.5).reshape(1, 1, 2), OneChunk(), 1);
        Assert.Equal(0.4, Value(padded), 12);
    }

    [Fact]
    public void EveryLossIsZeroWhenTheTeacherIsTheStudent()
    {
        using var g = new Generator(4);
        var x = randn([2, 3, 7], generator: g, dtype: ScalarType.Float64) * 2;
        var chunks = OneToOne(2, 3);
        Assert.Equal(0, Value(CrossTokenizerLosses.UniversalLogitDistillation(x, x, chunks, 6)), 12);
        Assert.Equal(0, Value(CrossTokenizerLosses.HybridMatchedUld(x, x, chunks, Identity(7), 6)), 12);
        // A permuted vocabulary with the same map is the same model too.
        var permutation = new long[] { 3, 0, 6, 1, 5, 2, 4 };
        var teacher = x.index_select(-1, tensor(permutation));
        var map = VocabularyMap.FromPairs(permutation.Select((s, t) => (t, (int)s)), 7, 7);
        Assert.Equal(0, Value(CrossTokenizerLosses.HybridMatchedUld(x, teacher, chunks, map, 6)), 12);
    }

    [Fact]
    public void HybridIsForwardKlWhenEveryTokenIsSharedAndUldWhenNoneIs()
    {
        using var g = new Generator(6);
        var s = randn([2, 3, 5], generator: g, dtype: ScalarType.Float64) * 2;
        var t = randn([2, 3, 5], generator: g, dtype: ScalarType.Float64) * 2;
        var chunks = OneToOne(2, 3);
        var kl = Value(DistillationLosses.ForwardKl(s, t, AllTrue(2, 3), 6));
        Assert.True(kl > 0.05);
        Assert.Equal(kl, Value(CrossTokenizerLosses.HybridMatchedUld(s, t, chunks, Identity(5), 6)), 10);
        var none = VocabularyMap.FromPairs([], 5, 5);
        Assert.Equal(Value(CrossTokenizerLosses.UniversalLogitDistillation(s, t, chunks, 6)), Value(CrossTokenizerLosses.HybridMatchedUld(s, t, chunks, none, 6)), 12);
    }

    [Fact]
    public void HybridMatchesAHandComputedValue()
    {
        // Teacher (0.5, 0.3, 0.2) over ids 0..2, student (0.4, 0.1, 0.25, 0.25) over 0..3; teacher 0 ↔ student 1 shared.
        // Matched KL over {shared, rest}: 0.5 ln(0.5/0.1) + 0.5 ln(0.5/0.9); unmatched sorted L1: (0.3, 0.2, 0) vs (0.4, 0.25, 0.25).
        var map = VocabularyMap.FromPairs([(0, 1)], 3, 4);
        var value = CrossTokenizerLosses.HybridMatchedUld(LogOf(0.4, 0.1, 0.25, 0.25).reshape(1, 1, 4), LogOf(0.5, 0.3, 0.2).reshape(1, 1, 3), OneChunk(), map, 1, unmatchedWeight: 2);
        var expected = 0.5 * Math.Log(0.5 / 0.1) + 0.5 * Math.Log(0.5 / 0.9) + 2 * (0.1 + 0.05 + 0.25);
        Assert.Equal(expected, Value(value), 12);
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        using var g = new Generator(8);
        var s = randn([1, 3, 6], generator: g, dtype: ScalarType.Float64);
        var t = randn([1, 2, 4], generator: g, dtype: ScalarType.Float64) * 2;
        var chunks = ChunkTensors.Pack([[new AlignedChunk(0, 2, 0, 1, 0, 2), new AlignedChunk(2, 3, 1, 2, 2, 3)]], 3, 2);
        var map = VocabularyMap.FromPairs([(0, 2), (3, 5)], 4, 6);
        var uld = MaxGradientError(s, x => CrossTokenizerLosses.UniversalLogitDistillation(x, t, chunks, 2));
        var hybrid = MaxGradientError(s, x => CrossTokenizerLosses.HybridMatchedUld(x, t, chunks, map, 2));
        Assert.True(uld < 1e-7, $"ULD gradient error {uld}");
        Assert.True(hybrid < 1e-7, $"hybrid gradient error {hybrid}");
    }

    [Fact]
    public void NoNanWhenTheTeacherRulesTokensOutOrEveryChunkIsMasked()
    {
        var s = tensor(new double[,,] { { { 1, double.NegativeInfinity, 0, 2 } } }).requires_grad_(true);
        var t = tensor(new double[,,] { { { 0, double.NegativeInfinity, 5 } } });
        var map = VocabularyMap.FromPairs([(0, 0), (1, 1)], 3, 4);
        foreach (var loss in new Func<Tensor>[] { () => CrossTokenizerLosses.UniversalLogitDistillation(s, t, OneChunk(), 1), () => CrossTokenizerLosses.HybridMatchedUld(s, t, OneChunk(), map, 1) })
        {
            s.grad?.zero_();
            var value = loss();
            value.backward();
            Assert.True(double.IsFinite(Value(value)));
            Assert.False(s.grad!.isnan().any().item<bool>());
        }
        var masked = ChunkTensors.Pack([[new AlignedChunk(0, 1, 0, 1, 0, 1)]], 1, 1, counts: _ => false);
        Assert.Equal(0, Value(CrossTokenizerLosses.HybridMatchedUld(s, t, masked, map, 0)));
    }

    [Fact]
    public void TheVocabularyMapPairsTokensThatSpellTheSameBytes()
    {
        var teacher = TinyTokenizers.With(" ", "a", "c", "t", " c", " cat", "at");
        var student = TinyTokenizers.With("a", "t", " ", "c", "at", "ca", " ca");
        var map = VocabularyMap.Between(teacher, student);
        foreach (var piece in new[] { " ", "a", "c", "t", "at" })
            Assert.Equal(TinyTokenizers.Id(student, piece), map.StudentOf(TinyTokenizers.Id(teacher, piece)));
        Assert.Equal(-1, map.StudentOf(TinyTokenizers.Id(teacher, " cat")));
        Assert.Equal(-1, map.StudentOf(1)); // BOS is special
        // Every byte is shared too (through a piece where one spells it); the map is one-to-one.
        Assert.Equal(256 + 1, map.Count);
        Assert.Equal(map.Count, map.StudentIds.unique().Item1.shape[0]);
    }
}
