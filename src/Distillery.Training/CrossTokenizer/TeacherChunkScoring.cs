using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Distillery.Training.CrossTokenizer;

/// <summary>The teacher's log-probability of each token of its own tokenisation of a text, in order.</summary>
public delegate Task<IReadOnlyList<double>> TeacherTokenScorer(string text, CancellationToken cancellationToken);

/// <summary>The chunks aligning the teacher's and the student's tokenisations of a text.</summary>
public delegate IReadOnlyList<AlignedChunk> TextAligner(string text);

/// <summary>
/// Scores a student's sample with a teacher that has another tokenizer (on-policy distillation): the teacher scores the
/// text in its own tokens, and each aligned chunk's teacher log-probability is the sum over its teacher tokens — the
/// teacher side of <see cref="CrossTokenizerLosses.ChunkLikelihoodMatching"/>.
/// </summary>
public static class TeacherChunkScoring
{
    /// <summary>The teacher's log-probability of each chunk of <paramref name="text"/>, in chunk order.</summary>
    /// <param name="text">The student's sampled text.</param>
    /// <param name="scorer">The teacher's per-token logprobs of its tokenisation of the text.</param>
    /// <param name="align">The alignment of the teacher's and the student's tokenisations of the text.</param>
    /// <param name="cancellationToken">Cancels the scoring.</param>
    public static async Task<double[]> ChunkLogprobsAsync(string text, TeacherTokenScorer scorer, TextAligner align, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(scorer);
        ArgumentNullException.ThrowIfNull(align);
        var chunks = align(text);
        var tokenLogprobs = await scorer(text, cancellationToken).ConfigureAwait(false);
        return ChunkLogprobs(tokenLogprobs, chunks);
    }

    /// <summary>Σ of the teacher's token logprobs over each chunk's teacher tokens.</summary>
    /// <param name="teacherTokenLogprobs">The teacher's logprob of each of its tokens.</param>
    /// <param name="chunks">The chunks, whose teacher ranges index those tokens.</param>
    public static double[] ChunkLogprobs(IReadOnlyList<double> teacherTokenLogprobs, IReadOnlyList<AlignedChunk> chunks)
    {
        ArgumentNullException.ThrowIfNull(teacherTokenLogprobs);
        ArgumentNullException.ThrowIfNull(chunks);
        var result = new double[chunks.Count];
        for (var c = 0; c < chunks.Count; c++)
        {
            var chunk = chunks[c];
            if (chunk.TeacherStart < 0 || chunk.TeacherEnd > teacherTokenLogprobs.Count || chunk.TeacherStart >= chunk.TeacherEnd)
                throw new ArgumentException($"chunk {c} covers teacher tokens [{chunk.TeacherStart}, {chunk.TeacherEnd}) but the teacher scored {teacherTokenLogprobs.Count}; the scorer and the aligner tokenise the text differently", nameof(chunks));
            var sum = 0.0;
            for (var t = chunk.TeacherStart; t < chunk.TeacherEnd; t++) sum += teacherTokenLogprobs[t];
            result[c] = sum;
        }
        return result;
    }
}
