using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Training.CrossTokenizer;

namespace Distillery.Training.Tests.CrossTokenizer;

public sealed class TeacherChunkScoringTests
{
    [Fact]
    public async Task SumsTheTeachersTokenLogprobsOverEachChunk()
    {
        // "the cat": the teacher scores [" the", " c", "at"]; the student's split gives two chunks.
        string? scored = null;
        TeacherTokenScorer scorer = (text, _) =>
        {
            scored = text;
            return Task.FromResult<IReadOnlyList<double>>([-0.5, -1.25, -0.125]);
        };
        TextAligner align = _ => [new AlignedChunk(0, 4, 0, 1, 0, 2), new AlignedChunk(4, 8, 1, 3, 2, 3)];
        var chunks = await TeacherChunkScoring.ChunkLogprobsAsync(" the cat", scorer, align, CancellationToken.None);
        Assert.Equal(" the cat", scored);
        Assert.Equal(new[] { -0.5, -1.375 }, chunks);
    }

    [Fact]
    public void RefusesChunksBeyondTheScoredTokens()
    {
        var e = Assert.Throws<ArgumentException>(() => TeacherChunkScoring.ChunkLogprobs([-1.0], [new AlignedChunk(0, 2, 0, 2, 0, 1)]));
        Assert.Contains("scored 1", e.Message, StringComparison.Ordinal);
    }
}
