using System;
using System.Collections.Generic;
using Distillery.Core.Tokens;
using Distillery.Training.CrossTokenizer;
using Distillery.Training.Losses;
using TorchSharp.Modules;
using static Distillery.Training.Tests.Losses.LossTestHelpers;
using static TorchSharp.torch;

namespace Distillery.Training.Tests.CrossTokenizer;

/// <summary>A free student logits tensor, optimised with each cross-tokenizer loss alone, moves toward the teacher.</summary>
public sealed class TowardTheTeacherTests
{
    public TowardTheTeacherTests() => EnsureTorch();

    // Teacher tokens [t0 | t1 t2], student tokens [s0 s1 | s2]: two chunks.
    private static readonly AlignedChunk[][] Rows = [[new(0, 3, 0, 1, 0, 2), new(3, 6, 1, 3, 2, 3)]];

    private static Tensor Train(Tensor start, Func<Tensor, Tensor> loss, int steps = 300)
    {
        var p = new Parameter(start.clone());
        using var optimiser = optim.Adam([p], lr: 0.05);
        for (var i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            optimiser.zero_grad();
            loss(p).backward();
            optimiser.step();
        }
        return p.detach().clone();
    }

    private static Tensor Start(long t, long v)
    {
        using var g = new Generator(17);
        return randn([1, t, v], generator: g, dtype: ScalarType.Float64);
    }

    [Fact]
    public void ChunkLikelihoodMatchingBringsTheStudentsChunkLikelihoodsToTheTeachers()
    {
        var packed = ChunkTensors.Pack(Rows, 3, 3);
        var tokens = tensor(new long[,] { { 1, 3, 0 } });
        var teacher = LogOf(0.6, 0.5, 0.9).reshape(1, 3); // chunks: 0.6 and 0.45
        double Gap(Tensor logits) => Value((packed.StudentSums(CrossTokenizerLosses.TokenLogprobs(logits, tokens)) - packed.TeacherSums(teacher)).abs().max());
        var start = Start(3, 5);
        var trained = Train(start, x => CrossTokenizerLosses.ChunkLikelihoodMatching(CrossTokenizerLosses.TokenLogprobs(x, tokens), teacher, packed, 2, temperature: 2));
        Assert.True(Gap(start) > 0.5, $"start gap {Gap(start)}");
        Assert.True(Gap(trained) < 0.02, $"trained gap {Gap(trained)}");
    }

    [Fact]
    public void TopKAtChunkStartsBringsTheStudentsFirstTokenToTheTeachersAlternatives()
    {
        var student = TinyTokenizers.With("c", "a", "t", "ca");
        var packed = ChunkTensors.Pack(Rows, 3, 3);
        TopLogprob Alt(string text, double p) => new(text, TinyTokenizers.Bytes(text), Math.Log(p));
        TokenLogprob At(params TopLogprob[] a) => new(a[0].Token, a[0].Bytes, a[0].Logprob, a);
        IReadOnlyList<TokenLogprob>[] tokens = [[At(Alt("ca", 0.6), Alt("c", 0.3)), At(Alt("t", 0.8), Alt("zz", 0.1)), At(Alt("a", 1))]];
        var targets = ChunkStartTargets.Build(Rows, packed, tokens, StudentSpelling.Of(student), TopKTailPolicy.FoldTailIntoBucket);
        var trained = Train(Start(3, student.VocabSize), x => CrossTokenizerLosses.TopKAtChunkStarts(x, packed, targets, 2), steps: 600);
        var q = trained.softmax(-1);
        Assert.Equal(0.6, q[0, 0, TinyTokenizers.Id(student, "ca")].item<double>(), 2);
        Assert.Equal(0.3, q[0, 0, TinyTokenizers.Id(student, "c")].item<double>(), 2);
        Assert.Equal(0.8, q[0, 2, TinyTokenizers.Id(student, "t")].item<double>(), 2);
    }

    [Fact]
    public void UldBringsTheSortedDistributionsTogether()
    {
        var packed = ChunkTensors.Pack(Rows, 3, 3);
        var teacher = (Start(3, 4) * 2).flip(1);
        var start = Start(3, 6);
        var before = Value(CrossTokenizerLosses.UniversalLogitDistillation(start, teacher, packed, 2));
        var trained = Train(start, x => CrossTokenizerLosses.UniversalLogitDistillation(x, teacher, packed, 2), steps: 600);
        var after = Value(CrossTokenizerLosses.UniversalLogitDistillation(trained, teacher, packed, 2));
        Assert.True(before > 0.3, $"before {before}");
        Assert.True(after < 0.05 * before, $"after {after}, before {before}");
    }

    [Fact]
    public void TheHybridMatchesTheSharedTokensProbabilities()
    {
        var packed = ChunkTensors.Pack(Rows, 3, 3);
        var teacher = (Start(3, 4) * 2).flip(1);
        var map = VocabularyMap.FromPairs([(0, 2), (1, 0), (3, 5)], 4, 6);
        var trained = Train(Start(3, 6), x => CrossTokenizerLosses.HybridMatchedUld(x, teacher, packed, map, 2), steps: 600);
        var p = teacher.softmax(-1);
        var q = trained.softmax(-1);
        // Chunk starts: teacher positions 0 and 1, student positions 0 and 2.
        foreach (var (tp, sp) in new[] { (0, 0), (1, 2) })
            foreach (var (ti, si) in new[] { (0, 2), (1, 0), (3, 5) })
                Assert.Equal(p[0, tp, ti].item<double>(), q[0, sp, si].item<double>(), 2);
    }
}
