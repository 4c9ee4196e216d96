using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Training.CrossTokenizer;

namespace Distillery.Training.Language.Data;

/// <summary>How much of the teacher's signal a cross-tokenizer run's training examples carry into the loss.</summary>
/// <param name="Chunks">Aligned chunks that reach the loss.</param>
/// <param name="OneToOneShare">The share of those chunks that are one teacher token and one student token.</param>
/// <param name="TeacherTokenShare">
/// The share of the teacher's completion tokens whose data reached the loss: every token of a counted chunk under ALM; the
/// first token of a chunk with a matched alternative under top-k alone; each chunk's first token under ULD and the hybrid.
/// </param>
/// <param name="TopKMassShare">The share of the stored top-k probability mass at counted chunk starts that the student spells (0 under ALM alone; null without stored top-k data).</param>
public sealed record CrossTokenizerCoverage(long Chunks, double OneToOneShare, double TeacherTokenShare, double? TopKMassShare)
{
    /// <summary>Measures the examples (those built by <see cref="CrossTokenizerExampleBuilder"/>) under a method.</summary>
    public static CrossTokenizerCoverage Measure(IReadOnlyList<LmExample> examples, CrossTokenizerMethod method, StudentSpelling spelling)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(spelling);
        long chunks = 0, oneToOne = 0, teacherTokens = 0, reached = 0;
        double matchedMass = 0, totalMass = 0;
        var stored = false;
        foreach (var row in examples.Select(e => e.Cross).OfType<CrossTokenizerRow>())
        {
            teacherTokens += row.TeacherTokenCount;
            chunks += row.Chunks.Count;
            oneToOne += row.Chunks.Count(c => c.IsOneToOne);
            stored |= row.TeacherTokens is not null;
            foreach (var chunk in row.Chunks)
            {
                var matched = false;
                if (row.TeacherTokens is { } tokens && chunk.TeacherStart < tokens.Count)
                {
                    var alternatives = ChunkStartTargets.Listed(tokens[chunk.TeacherStart]);
                    totalMass += alternatives.Sum(a => Math.Exp(a.Logprob));
                    var (targets, _, mass) = ChunkStartTargets.AtOneStart(alternatives, spelling);
                    matchedMass += mass;
                    matched = targets.Count > 0;
                }
                reached += method.UsesAlm() ? chunk.TeacherEnd - chunk.TeacherStart
                    : method.UsesTopK() ? (matched ? 1 : 0)
                    : 1;
            }
        }
        double? massShare = !stored ? null : !method.UsesTopK() || totalMass == 0 ? 0 : matchedMass / totalMass;
        return new CrossTokenizerCoverage(chunks, chunks == 0 ? 0 : (double)oneToOne / chunks,
            teacherTokens == 0 ? 0 : (double)reached / teacherTokens, massShare);
    }
}
