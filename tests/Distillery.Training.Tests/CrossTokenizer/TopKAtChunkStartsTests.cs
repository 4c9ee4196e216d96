using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Tokens;
using Distillery.Training.CrossTokenizer;
using Distillery.Training.Losses;
using static Distillery.Training.Tests.Losses.LossTestHelpers;
using static TorchSharp.torch;

namespace Distillery.Training.Tests.CrossTokenizer;

public sealed class TopKAtChunkStartsTests
{
    public TopKAtChunkStartsTests() => EnsureTorch();

    private static TopLogprob Alt(Models.Tokenizers.ITextTokenizer tok, int id, double logprob) =>
        new(tok.Decode([id]), [.. tok.TokenBytes(id).ToArray().Select(b => (int)b)], logprob);

    private static TopLogprob Alt(string text, double logprob) => new(text, TinyTokenizers.Bytes(text), logprob);

    private static TokenLogprob At(params TopLogprob[] alternatives) =>
        new(alternatives.Length > 0 ? alternatives[0].Token : "", alternatives.Length > 0 ? alternatives[0].Bytes : [], alternatives.Length > 0 ? alternatives[0].Logprob : 0, alternatives);

    [Theory]
    [InlineData(TopKTailPolicy.Renormalize)]
    [InlineData(TopKTailPolicy.FoldTailIntoBucket)]
    public void EqualsTopKKlWithIdenticalTokenizers(TopKTailPolicy policy)
    {
        var tok = TinyTokenizers.With(" ", "a", "c", "t", "h", "e", "ca", "at", " c", " ca", " cat", "he", " t", " the");
        const int b = 2, t = 3, k = 4;
        var v = tok.VocabSize;
        using var g = new Generator(11);
        var studentLogits = randn([b, t, v], generator: g, dtype: ScalarType.Float64);
        var teacherLogprobs = (randn([b, t, v], generator: g, dtype: ScalarType.Float64) * 3).log_softmax(-1);
        // Alternatives among the pieces: special tokens spell no bytes, and a byte token whose byte is also a piece is
        // spelled by that piece (one id per spelling), so neither could come back as itself.
        teacherLogprobs = teacherLogprobs.index_fill(-1, arange(0, 259), double.NegativeInfinity);
        var (topLogprobs, topIds) = teacherLogprobs.topk(k);

        var rows = new IReadOnlyList<AlignedChunk>[b];
        var tokens = new IReadOnlyList<TokenLogprob>[b];
        for (var r = 0; r < b; r++)
        {
            rows[r] = [.. Enumerable.Range(0, t).Select(i => new AlignedChunk(i, i + 1, i, i + 1, i, i + 1))];
            tokens[r] = [.. Enumerable.Range(0, t).Select(i => At([.. Enumerable.Range(0, k).Select(j => Alt(tok, (int)topIds[r, i, j].item<long>(), topLogprobs[r, i, j].item<double>()))]))];
        }
        var packed = ChunkTensors.Pack(rows, t, t);
        var targets = ChunkStartTargets.Build(rows, packed, tokens, StudentSpelling.Of(tok), policy);
        Assert.Equal(1.0, targets.MatchedShare, 12);

        var mask = AllTrue(b, t);
        var direct = Value(DistillationLosses.TopKKl(studentLogits, TeacherTargets.TopK(topIds, topLogprobs, policy), mask, b * t));
        var viaChunks = Value(CrossTokenizerLosses.TopKAtChunkStarts(studentLogits, packed, targets, b * t));
        Assert.True(direct > 0.01);
        Assert.Equal(direct, viaChunks, 10);
    }

    [Fact]
    public void UnambiguousMatchingSkipsAnAlternativeThatBeginsALongerStudentToken()
    {
        var student = TinyTokenizers.With("t", "h", "e", "r", "a", "th", "the", "there", "ta");
        var unambiguous = StudentSpelling.Of(student, AlternativeMatch.UnambiguousToken);
        Assert.Equal(TinyTokenizers.Id(student, "the"), StudentSpelling.Of(student).FirstToken(TinyTokenizers.Bytes("the")));
        Assert.Equal(-1, unambiguous.FirstToken(TinyTokenizers.Bytes("the")));   // "there" begins with it
        Assert.Equal(-1, unambiguous.FirstToken(TinyTokenizers.Bytes("t")));     // "th", "ta", … begin with it
        Assert.Equal(TinyTokenizers.Id(student, "there"), unambiguous.FirstToken(TinyTokenizers.Bytes("there")));
        Assert.Equal(TinyTokenizers.Id(student, "ta"), unambiguous.FirstToken(TinyTokenizers.Bytes("ta")));
        Assert.Equal(TinyTokenizers.Id(student, "r"), unambiguous.FirstToken(TinyTokenizers.Bytes("r")));
    }

    [Fact]
    public void MergesAlternativesWithTheSameFirstStudentTokenAndReportsTheMatchedMass()
    {
        // No " " piece: the student adds no dummy prefix, so "cat" and "cab" both split as ["ca", …].
        var student = TinyTokenizers.With("c", "a", "t", "b", "ca");
        var spelling = StudentSpelling.Of(student, AlternativeMatch.FirstToken);
        var ca = TinyTokenizers.Id(student, "ca");
        Assert.Equal(ca, spelling.FirstToken(TinyTokenizers.Bytes("cat")));
        Assert.Equal(ca, spelling.FirstToken(TinyTokenizers.Bytes("cab")));
        Assert.Equal(-1, StudentSpelling.Of(student).FirstToken(TinyTokenizers.Bytes("cat"))); // not one whole token
        Assert.Equal(-1, spelling.FirstToken([0xE2, 0x82])); // half a character

        AlignedChunk[][] rows = [[new(0, 3, 0, 1, 0, 2)]];
        IReadOnlyList<TokenLogprob>[] tokens = [[At(Alt("cat", Math.Log(0.5)), Alt("cab", Math.Log(0.2)), Alt("b", Math.Log(0.1)), new TopLogprob("\ufffd", [0xE2, 0x82], Math.Log(0.1)))]];
        var packed = ChunkTensors.Pack(rows, 2, 1);
        var targets = ChunkStartTargets.Build(rows, packed, tokens, spelling, TopKTailPolicy.FoldTailIntoBucket);
        // Half of "€" is no character: the student's first token for it is not defined.
        Assert.Equal(0.8 / 0.9, targets.MatchedShare, 12);
        var ids = targets.Targets.Ids.flatten().data<long>().ToArray();
        var probabilities = targets.Targets.Logprobs.exp().flatten().data<double>().ToArray();
        Assert.Equal(0.7, probabilities[Array.IndexOf(ids, ca)], 12);
        Assert.Equal(0.1, probabilities[Array.IndexOf(ids, TinyTokenizers.Id(student, "b"))], 12);

        // By hand: KL over {ca: 0.7, b: 0.1, rest: 0.2} against a student at uniform logits.
        var logits = zeros(1, 2, student.VocabSize, dtype: ScalarType.Float64);
        var u = 1.0 / student.VocabSize;
        var expected = 0.7 * Math.Log(0.7 / u) + 0.1 * Math.Log(0.1 / u) + 0.2 * Math.Log(0.2 / (1 - 2 * u));
        Assert.Equal(expected, Value(CrossTokenizerLosses.TopKAtChunkStarts(logits, packed, targets, 1)), 10);
    }

    [Fact]
    public void AChunkWithNoMatchedAlternativeGivesNoNanAndNoGradient()
    {
        var student = TinyTokenizers.With("c", "a", "t");
        AlignedChunk[][] rows = [[new(0, 1, 0, 1, 0, 1), new(1, 3, 1, 2, 1, 3)]];
        IReadOnlyList<TokenLogprob>[] tokens = [[At(Alt("zz", -0.1), Alt("qq", -3)), At(Alt("a", -0.2), Alt("t", -2))]];
        var packed = ChunkTensors.Pack(rows, 3, 2);
        foreach (var policy in Enum.GetValues<TopKTailPolicy>())
        {
            var targets = ChunkStartTargets.Build(rows, packed, tokens, StudentSpelling.Of(student), policy);
            Assert.Equal(new[] { false, true }, targets.HasTarget.flatten().data<bool>().ToArray());
            var logits = randn(1, 3, student.VocabSize, dtype: ScalarType.Float64).requires_grad_(true);
            var loss = CrossTokenizerLosses.TopKAtChunkStarts(logits, packed, targets, 1);
            loss.backward();
            Assert.True(double.IsFinite(Value(loss)));
            Assert.False(logits.grad!.isnan().any().item<bool>());
            Assert.Equal(0, Value(logits.grad![0, 0].abs().sum()));
            Assert.True(Value(logits.grad![0, 1].abs().sum()) > 0);
        }
        // No alternative matched anywhere: a zero loss.
        IReadOnlyList<TokenLogprob>[] unmatched = [[At(Alt("zz", -0.1)), At()]];
        var nothing = ChunkStartTargets.Build(rows, packed, unmatched, StudentSpelling.Of(student), TopKTailPolicy.Renormalize);
        Assert.Equal(0, nothing.MatchedShare);
        Assert.Equal(0, Value(CrossTokenizerLosses.TopKAtChunkStarts(zeros(1, 3, student.VocabSize), packed, nothing, 0)));
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        var student = TinyTokenizers.With("c", "a", "t", "ca");
        AlignedChunk[][] rows = [[new(0, 2, 0, 1, 0, 1), new(2, 3, 1, 2, 1, 2)]];
        IReadOnlyList<TokenLogprob>[] tokens = [[At(Alt("ca", -0.4), Alt("c", -1.5), Alt("x", -3)), At(Alt("t", -0.3), Alt("a", -2))]];
        var packed = ChunkTensors.Pack(rows, 2, 2);
        using var g = new Generator(2);
        var logits = randn([1, 2, student.VocabSize], generator: g, dtype: ScalarType.Float64);
        foreach (var policy in Enum.GetValues<TopKTailPolicy>())
        {
            var targets = ChunkStartTargets.Build(rows, packed, tokens, StudentSpelling.Of(student), policy);
            var error = MaxGradientError(logits, x => CrossTokenizerLosses.TopKAtChunkStarts(x, packed, targets, 2));
            Assert.True(error < 1e-7, $"{policy}: gradient error {error}");
        }
    }
}
