using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Tokens;
using Distillery.Training.CrossTokenizer;
using Distillery.Training.Losses;
using static Distillery.Training.Tests.Losses.LossTestHelpers;
using static TorchSharp.torch;

namespace Distillery.Training.Tests.CrossTokenizer;

/// <summary>Chunk-start targets under <see cref="AlternativeMatch.Prefix"/>: each alternative on the student tokens its bytes begin.</summary>
public sealed class PrefixGroupsTests
{
    public PrefixGroupsTests() => EnsureTorch();

    private static TopLogprob Alt(string text, double p) => new(text, TinyTokenizers.Bytes(text), Math.Log(p));

    private static TokenLogprob At(params TopLogprob[] alternatives) => new(alternatives[0].Token, alternatives[0].Bytes, alternatives[0].Logprob, alternatives);

    private static readonly AlignedChunk[][] OneChunk = [[new(0, 3, 0, 1, 0, 1)]];

    private static ChunkStartTargets Targets(Models.Tokenizers.ITextTokenizer student, TopKTailPolicy policy, AlternativeMatch match, params TopLogprob[] alternatives) =>
        ChunkStartTargets.Build(OneChunk, ChunkTensors.Pack(OneChunk, 1, 1), [[At(alternatives)]], StudentSpelling.Of(student, match), policy);

    private static double Loss(Tensor logits, ChunkStartTargets targets) =>
        Value(CrossTokenizerLosses.TopKAtChunkStarts(logits, ChunkTensors.Pack(OneChunk, 1, 1), targets, 1));

    [Fact]
    public void ExtensionsAreExactlyTheTokensThatBeginWithTheBytes()
    {
        var student = TinyTokenizers.With("ab", "abc", "abd", "b", "ba", "xab");
        var spelling = StudentSpelling.Of(student, AlternativeMatch.Prefix);
        int Id(string piece) => TinyTokenizers.Id(student, piece);
        Assert.Equal(new[] { Id("ab"), Id("abc"), Id("abd") }.Order(), spelling.Extensions(TinyTokenizers.Bytes("ab")).ToArray().Order());
        Assert.Equal(new[] { Id("abc") }, spelling.Extensions(TinyTokenizers.Bytes("abc")).ToArray());
        // "a" is also a byte token (the tiny tokenizers have all 256).
        Assert.Equal(4, spelling.Extensions(TinyTokenizers.Bytes("a")).Length);
        Assert.True(spelling.Extensions(TinyTokenizers.Bytes("abcz")).IsEmpty);
    }

    [Fact]
    public void GroupsMatchAHandComputedKlUnderBothTailPolicies()
    {
        // Groups: "ab" takes {ab, abc, abd}; "a" keeps the byte token a; "zz" spells no student token's beginning… except
        // through the byte token z, which is not a "zz" extension: it falls into the tail.
        var student = TinyTokenizers.With("ab", "abc", "abd", "b");
        var u = 1.0 / student.VocabSize; // the student at uniform logits
        var logits = zeros(1, 1, student.VocabSize, dtype: ScalarType.Float64);

        var fold = Targets(student, TopKTailPolicy.FoldTailIntoBucket, AlternativeMatch.Prefix, Alt("a", 0.5), Alt("ab", 0.3), Alt("zz", 0.1));
        Assert.Equal(0.8 / 0.9, fold.MatchedShare, 12);
        var expected = 0.5 * Math.Log(0.5 / u) + 0.3 * Math.Log(0.3 / (3 * u)) + 0.2 * Math.Log(0.2 / (1 - 4 * u));
        Assert.Equal(expected, Loss(logits, fold), 9);

        var renormalised = Targets(student, TopKTailPolicy.Renormalize, AlternativeMatch.Prefix, Alt("a", 0.5), Alt("ab", 0.3), Alt("zz", 0.1));
        var (pa, pab) = (0.5 / 0.8, 0.3 / 0.8);
        Assert.Equal(pa * Math.Log(pa / 0.25) + pab * Math.Log(pab / 0.75), Loss(logits, renormalised), 9);
    }

    [Fact]
    public void AnAlternativeWhoseTokensAllBeginLongerAlternativesFallsIntoTheTail()
    {
        var student = TinyTokenizers.With("abc", "abcd");
        var targets = Targets(student, TopKTailPolicy.FoldTailIntoBucket, AlternativeMatch.Prefix, Alt("ab", 0.4), Alt("abc", 0.2));
        Assert.Equal(0.2 / 0.6, targets.MatchedShare, 12);
        var u = 1.0 / student.VocabSize;
        var logits = zeros(1, 1, student.VocabSize, dtype: ScalarType.Float64);
        Assert.Equal(0.2 * Math.Log(0.2 / (2 * u)) + 0.8 * Math.Log(0.8 / (1 - 2 * u)), Loss(logits, targets), 9);
    }

    [Fact]
    public void AnAlternativeNoStudentTokenBeginsPassesItsMassToTheLongestAlternativeBeginningItThatKeptAToken()
    {
        // "bed" begins no student token; "b" (the byte token b and the piece "be") is the longest alternative beginning it.
        var student = TinyTokenizers.With("be", "bo");
        var (groups, members, mass) = PrefixGroups.Of([Alt("b", 0.4), Alt("bed", 0.3), Alt("bo", 0.1), Alt("c", 0.1)], StudentSpelling.Of(student, AlternativeMatch.Prefix));
        Assert.Equal(0.9, mass, 12);
        var ofBe = members.Single(m => m.Token == TinyTokenizers.Id(student, "be")).Group;
        Assert.Equal(2, members.Count(m => m.Group == ofBe));                   // byte b and "be"
        Assert.Equal(0.4 + 0.3, Math.Exp(groups.Single(g => g.Group == ofBe).Logprob), 12);

        var targets = Targets(student, TopKTailPolicy.FoldTailIntoBucket, AlternativeMatch.Prefix, Alt("b", 0.4), Alt("bed", 0.3), Alt("bo", 0.1), Alt("c", 0.1));
        Assert.Equal(1.0, targets.MatchedShare, 12);
        var u = 1.0 / student.VocabSize;
        var expected = 0.7 * Math.Log(0.7 / (2 * u)) + 0.1 * Math.Log(0.1 / u) + 0.1 * Math.Log(0.1 / u) + 0.1 * Math.Log(0.1 / (1 - 4 * u));
        Assert.Equal(expected, Loss(zeros(1, 1, student.VocabSize, dtype: ScalarType.Float64), targets), 9);
    }

    [Theory]
    [InlineData(TopKTailPolicy.Renormalize)]
    [InlineData(TopKTailPolicy.FoldTailIntoBucket)]
    public void EqualsWholeTokenTargetsWhereNoStudentTokenExtendsAnAlternative(TopKTailPolicy policy)
    {
        var student = TinyTokenizers.With("ca", "t", "do");
        TopLogprob[] alternatives = [Alt("ca", 0.4), Alt("do", 0.25), Alt("t", 0.05)];
        using var g = new Generator(5);
        var logits = randn([1, 1, student.VocabSize], generator: g, dtype: ScalarType.Float64);
        var prefix = Loss(logits, Targets(student, policy, AlternativeMatch.Prefix, alternatives));
        Assert.True(prefix > 0.01);
        Assert.Equal(Loss(logits, Targets(student, policy, AlternativeMatch.WholeToken, alternatives)), prefix, 10);
    }

    [Theory]
    [InlineData(TopKTailPolicy.Renormalize)]
    [InlineData(TopKTailPolicy.FoldTailIntoBucket)]
    public void GradientsMatchFiniteDifferences(TopKTailPolicy policy)
    {
        var student = TinyTokenizers.With("c", "a", "t", "ca", "cat", "cab", "ta");
        AlignedChunk[][] rows = [[new(0, 2, 0, 1, 0, 1), new(2, 3, 1, 2, 1, 2)]];
        IReadOnlyList<TokenLogprob>[] tokens = [[At(Alt("c", 0.4), Alt("ca", 0.3), Alt("x", 0.05)), At(Alt("t", 0.6), Alt("qq", 0.2))]];
        var packed = ChunkTensors.Pack(rows, 2, 2);
        var targets = ChunkStartTargets.Build(rows, packed, tokens, StudentSpelling.Of(student, AlternativeMatch.Prefix), policy);
        using var g = new Generator(3);
        var logits = randn([1, 2, student.VocabSize], generator: g, dtype: ScalarType.Float64);
        var error = MaxGradientError(logits, x => CrossTokenizerLosses.TopKAtChunkStarts(x, packed, targets, 2));
        Assert.True(error < 1e-7, $"{policy}: gradient error {error}");
    }

    [Fact]
    public void ALocalTeachersTopKAtChunkStartsGivesTheSameTargetsAsStoredAlternatives()
    {
        var teacher = TinyTokenizers.With("c", "a", "t", "ca");
        var student = TinyTokenizers.With("ca", "cat", "at", "t");
        AlignedChunk[][] rows = [[new(0, 2, 0, 1, 0, 1), new(2, 3, 1, 2, 1, 2)]];
        var packed = ChunkTensors.Pack(rows, 2, 2);
        using var g = new Generator(7);
        var teacherLogits = randn([1, 2, teacher.VocabSize], generator: g, dtype: ScalarType.Float64) * 4;
        var spelling = StudentSpelling.Of(student, AlternativeMatch.Prefix);
        var fromLogits = ChunkStartTargets.FromDistribution(rows, packed, teacherLogits, teacher, 5, spelling, TopKTailPolicy.FoldTailIntoBucket);

        // The same top-5 written out as an API would store them (special tokens spell no bytes and are left out).
        var (top, ids) = teacherLogits.log_softmax(-1).topk(5);
        TokenLogprob At(int position) => new("", [], 0, [.. Enumerable.Range(0, 5)
            .Select(j => (Id: (int)ids[0, position, j].item<long>(), Logprob: top[0, position, j].item<double>()))
            .Where(a => teacher.TokenBytes(a.Id).Length > 0)
            .Select(a => new TopLogprob("", [.. teacher.TokenBytes(a.Id).ToArray().Select(x => (int)x)], a.Logprob))]);
        var stored = ChunkStartTargets.Build(rows, packed, [[At(0), At(1)]], spelling, TopKTailPolicy.FoldTailIntoBucket);

        Assert.Equal(stored.MatchedShare, fromLogits.MatchedShare, 12);
        var studentLogits = randn([1, 2, student.VocabSize], generator: g, dtype: ScalarType.Float64);
        var expected = Value(CrossTokenizerLosses.TopKAtChunkStarts(studentLogits, packed, stored, 2));
        Assert.True(expected > 0.01);
        Assert.Equal(expected, Value(CrossTokenizerLosses.TopKAtChunkStarts(studentLogits, packed, fromLogits, 2)), 10);
    }

    [Fact]
    public void NoMatchedAlternativeGivesNoNanAndAUniformTailIsRefused()
    {
        var student = TinyTokenizers.With("ab");
        var nothing = Targets(student, TopKTailPolicy.FoldTailIntoBucket, AlternativeMatch.Prefix, Alt("zzz", 0.7));
        Assert.Equal(0, nothing.MatchedShare);
        var logits = randn(1, 1, student.VocabSize, dtype: ScalarType.Float64).requires_grad_(true);
        var loss = CrossTokenizerLosses.TopKAtChunkStarts(logits, ChunkTensors.Pack(OneChunk, 1, 1), nothing, 0);
        loss.backward();
        Assert.Equal(0, Value(loss));
        Assert.False(logits.grad!.isnan().any().item<bool>());

        var uniform = Targets(student, TopKTailPolicy.UniformTail, AlternativeMatch.Prefix, Alt("ab", 0.7));
        Assert.Throws<ArgumentException>(() => Loss(logits.detach(), uniform));
    }
}
