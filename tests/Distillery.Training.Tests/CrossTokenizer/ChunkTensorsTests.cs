using System;
using Distillery.Training.CrossTokenizer;
using static Distillery.Training.Tests.Losses.LossTestHelpers;
using static TorchSharp.torch;

namespace Distillery.Training.Tests.CrossTokenizer;

public sealed class ChunkTensorsTests
{
    public ChunkTensorsTests() => EnsureTorch();

    // Row 0: "the cat" — teacher [" the", " cat"] vs student [" th", "e", " c", "at"]; row 1 has one chunk.
    private static readonly AlignedChunk[][] Rows =
    [
        [new(0, 4, 0, 1, 0, 2), new(4, 8, 1, 2, 2, 4)],
        [new(0, 3, 0, 2, 0, 1)],
    ];

    [Fact]
    public void SumsEachChunksTokensOnEachSide()
    {
        var packed = ChunkTensors.Pack(Rows, studentLength: 5, teacherLength: 3);
        Assert.Equal(2, packed.ChunksPerRow);
        Assert.Equal(3, packed.Count);
        var student = tensor(new double[,] { { 1, 2, 4, 8, 100 }, { 16, 100, 100, 100, 100 } });
        var teacher = tensor(new double[,] { { 3, 12, 100 }, { 7, 9, 100 } });
        Assert.Equal(new double[] { 3, 12, 16, 0 }, packed.StudentSums(student).flatten().data<double>().ToArray());
        Assert.Equal(new double[] { 3, 12, 16, 0 }, packed.TeacherSums(teacher).flatten().data<double>().ToArray());
        Assert.Equal(new long[] { 0, 2, 0, 0 }, packed.StudentFirst.flatten().data<long>().ToArray());
        Assert.Equal(new long[] { 0, 1, 0, 0 }, packed.TeacherFirst.flatten().data<long>().ToArray());
        Assert.Equal(new[] { true, true, true, false }, packed.Mask.flatten().data<bool>().ToArray());
        Assert.Equal(4, packed.CountedTeacherTokens);
    }

    [Fact]
    public void AChunkCutByThePaddedLengthOrRejectedDoesNotCountAndPaddingNanStaysOut()
    {
        // The second chunk of row 0 runs past a student length of 3: it would be a partial sum.
        var packed = ChunkTensors.Pack(Rows, studentLength: 3, teacherLength: 3, counts: c => c.ByteStart < 100);
        Assert.Equal(new[] { true, false, true, false }, packed.Mask.flatten().data<bool>().ToArray());
        var student = tensor(new double[,] { { 1, 2, double.NaN }, { 16, double.NaN, double.NegativeInfinity } });
        var sums = packed.StudentSums(student);
        Assert.False(sums.isnan().any().item<bool>());
        Assert.Equal(new double[] { 3, 0, 16, 0 }, sums.flatten().data<double>().ToArray());
        Assert.Equal(3, packed.CountedTeacherTokens);

        var none = ChunkTensors.Pack(Rows, 5, 3, counts: _ => false);
        Assert.Equal(0, none.Count);
    }

    [Fact]
    public void GradientsFlowBackToEachTokenOfACountedChunkOnly()
    {
        var packed = ChunkTensors.Pack(Rows, 5, 3);
        var x = tensor(new double[,] { { 1, 2, 4, 8, 100 }, { 16, 100, 100, 100, 100 } }).requires_grad_(true);
        (packed.StudentSums(x) * tensor(new double[,] { { 1, 10 }, { 100, 1000 } })).sum().backward();
        Assert.Equal(new double[] { 1, 1, 10, 10, 0, 100, 0, 0, 0, 0 }, x.grad!.flatten().data<double>().ToArray());
    }

    [Fact]
    public void StartsPickEachChunksFirstTokenAndValuesThatDoNotFitThePackingAreRefused()
    {
        var packed = ChunkTensors.Pack(Rows, studentLength: 5, teacherLength: 3);
        var student = arange(2 * 5 * 2, dtype: ScalarType.Float64).reshape(2, 5, 2); // (B, Ts, V): position t of row b holds 10b + 2t, 10b + 2t + 1
        Assert.Equal(new double[] { 0, 1, 4, 5, 10, 11, 10, 11 }, packed.AtStudentStarts(student).flatten().data<double>().ToArray());
        var teacher = arange(2 * 3 * 1, dtype: ScalarType.Float64).reshape(2, 3, 1);
        Assert.Equal(new double[] { 0, 1, 3, 3 }, packed.AtTeacherStarts(teacher).flatten().data<double>().ToArray());

        Assert.Throws<ArgumentException>(() => packed.AtStudentStarts(zeros(2, 4, 2)));      // shorter than the packed student length
        Assert.Throws<ArgumentException>(() => packed.AtTeacherStarts(zeros(1, 3, 2)));      // one row, two packed
        Assert.Throws<ArgumentException>(() => packed.AtStudentStarts(zeros(2, 5)));         // no vocabulary dimension
        Assert.Throws<ArgumentException>(() => packed.StudentSums(zeros(2, 5, 1)));          // sums take one value a token
    }

    [Fact]
    public void OverlappingChunksAreRefused()
    {
        AlignedChunk[][] overlapping = [[new(0, 4, 0, 1, 0, 2), new(2, 6, 1, 2, 1, 3)]];
        Assert.Throws<ArgumentException>(() => ChunkTensors.Pack(overlapping, 4, 4));
    }
}
