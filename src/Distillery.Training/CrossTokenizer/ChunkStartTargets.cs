using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Tokens;
using Distillery.Models.Probability;
using Distillery.Models.Tokenizers;
using Distillery.Training.Losses;
using static TorchSharp.torch;

namespace Distillery.Training.CrossTokenizer;

/// <summary>
/// The teacher's top-k alternatives at each chunk's first teacher token, moved into the student's vocabulary: each
/// alternative that <see cref="StudentSpelling"/> maps to a student token counts for that token, alternatives mapping to the
/// same student token are merged (their probabilities add), and the rest fall into the tail of the tail policy. Under
/// <see cref="AlternativeMatch.Prefix"/> each alternative counts for a group of student tokens instead (<see cref="PrefixGroups"/>,
/// <see cref="Groups"/>).
/// </summary>
/// <param name="Targets">
/// Sparse targets over the student's first token of each chunk, (B, C, K); padding has logprob −∞. With <see cref="Groups"/>
/// the ids are group numbers 0..K − 1 within the chunk, not student tokens.
/// </param>
/// <param name="HasTarget">Which chunks have at least one matched alternative, (B, C) bool.</param>
/// <param name="MatchedMass">Σ of the probabilities of matched alternatives over counted chunks.</param>
/// <param name="TotalMass">Σ of the probabilities of all alternatives over counted chunks.</param>
/// <param name="Groups">Under <see cref="AlternativeMatch.Prefix"/>, which student tokens make up each chunk's groups; otherwise null.</param>
public sealed record ChunkStartTargets(SparseTeacherTargets Targets, Tensor HasTarget, double MatchedMass, double TotalMass, ChunkStartGroups? Groups = null)
{
    /// <summary>The share of the teacher's top-k probability mass at counted chunk starts that reached the loss.</summary>
    public double MatchedShare => TotalMass > 0 ? MatchedMass / TotalMass : 0;

    /// <summary>
    /// Builds the targets for packed chunks. <paramref name="teacherTokens"/>[b] is row b's teacher token stream, indexed by
    /// the chunks' teacher positions; a chunk whose first teacher token lies outside it, or has no alternatives, gets none.
    /// </summary>
    /// <param name="rows">Each row's chunks, as given to <see cref="ChunkTensors.Pack"/>.</param>
    /// <param name="packed">The packed chunks (their mask says which count).</param>
    /// <param name="teacherTokens">Each row's teacher tokens with their top-k alternatives.</param>
    /// <param name="spelling">How alternatives map to the student's first token.</param>
    /// <param name="tailPolicy">What the loss does with the mass outside the matched alternatives.</param>
    public static ChunkStartTargets Build(IReadOnlyList<IReadOnlyList<AlignedChunk>> rows, ChunkTensors packed, IReadOnlyList<IReadOnlyList<TokenLogprob>> teacherTokens, StudentSpelling spelling, TopKTailPolicy tailPolicy)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(teacherTokens);
        if (teacherTokens.Count != rows.Count)
            throw new ArgumentException($"{rows.Count} chunk rows and {teacherTokens.Count} teacher rows differ", nameof(teacherTokens));
        return Build(rows, packed, (b, c) =>
        {
            var first = rows[b][c].TeacherStart;
            return first < teacherTokens[b].Count ? Listed(teacherTokens[b][first]) : null;
        }, spelling, tailPolicy);
    }

    /// <summary>
    /// Builds the targets from a local teacher's full distribution: its <paramref name="k"/> most likely tokens at each
    /// chunk's first teacher token stand in for an API's top-k alternatives (spelled by the teacher's tokenizer).
    /// </summary>
    /// <param name="rows">Each row's chunks, as given to <see cref="ChunkTensors.Pack"/>.</param>
    /// <param name="packed">The packed chunks.</param>
    /// <param name="teacherLogits">The teacher's logits over its own tokens of each row, (B, Tt, Vt).</param>
    /// <param name="teacher">The teacher's tokenizer (for each token's bytes).</param>
    /// <param name="k">How many of the teacher's tokens count at each chunk start.</param>
    /// <param name="spelling">How alternatives map to the student's first token.</param>
    /// <param name="tailPolicy">What the loss does with the mass outside the matched alternatives.</param>
    public static ChunkStartTargets FromDistribution(IReadOnlyList<IReadOnlyList<AlignedChunk>> rows, ChunkTensors packed, Tensor teacherLogits, ITextTokenizer teacher, int k, StudentSpelling spelling, TopKTailPolicy tailPolicy)
    {
        ArgumentNullException.ThrowIfNull(packed);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var (top, ids) = TokenDistribution.LogSoftmax(packed.AtTeacherStarts(teacherLogits.detach())).topk(Math.Min(k, (int)teacherLogits.shape[^1]));
        var perRow = (int)packed.ChunksPerRow;
        var width = (int)top.shape[^1];
        var logprobs = top.cpu().to_type(ScalarType.Float64).data<double>().ToArray();
        var tokens = ids.cpu().data<long>().ToArray();
        return Build(rows, packed, (b, c) =>
        {
            var at = (b * perRow + c) * width;
            var alternatives = new List<TopLogprob>(width);
            for (var j = at; j < at + width; j++)
            {
                var bytes = teacher.TokenBytes((int)tokens[j]);
                if (bytes.Length > 0 && logprobs[j] > TokenDistribution.LogFloor)
                    alternatives.Add(new TopLogprob("", [.. bytes.ToArray().Select(x => (int)x)], logprobs[j]));
            }
            return alternatives;
        }, spelling, tailPolicy);
    }

    /// <summary>The targets where <paramref name="alternativesAt"/> gives chunk (b, c)'s teacher alternatives (null: none).</summary>
    private static ChunkStartTargets Build(IReadOnlyList<IReadOnlyList<AlignedChunk>> rows, ChunkTensors packed, Func<int, int, List<TopLogprob>?> alternativesAt, StudentSpelling spelling, TopKTailPolicy tailPolicy)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(packed);
        ArgumentNullException.ThrowIfNull(spelling);
        if (rows.Count != packed.Rows) throw new ArgumentException($"{rows.Count} chunk rows and {packed.Rows} packed rows differ", nameof(rows));
        var (batch, perRow) = ((int)packed.Rows, (int)packed.ChunksPerRow);
        var counted = packed.Mask.cpu().data<bool>().ToArray();
        var merged = new List<(int Id, double Logprob)>?[batch * perRow];
        var grouped = spelling.Match == AlternativeMatch.Prefix;
        var members = new List<(long Slot, long Token, long Group)>();
        double matchedMass = 0, totalMass = 0;
        for (var b = 0; b < batch; b++)
            for (var c = 0; c < rows[b].Count; c++)
            {
                var slot = b * perRow + c;
                if (!counted[slot] || alternativesAt(b, c) is not { } alternatives) continue;
                totalMass += alternatives.Sum(a => Math.Exp(a.Logprob));
                var (slotTargets, slotMembers, mass) = AtOneStart(alternatives, spelling);
                matchedMass += mass;
                members.AddRange(slotMembers.Select(m => ((long)slot, (long)m.Token, (long)m.Group)));
                if (slotTargets.Count > 0) merged[slot] = slotTargets;
            }

        var k = Math.Max(1, merged.Max(m => m?.Count ?? 0));
        var ids = new long[batch * perRow * k];
        var logprobs = new double[batch * perRow * k];
        Array.Fill(logprobs, double.NegativeInfinity);
        var has = new bool[batch * perRow];
        for (var slot = 0; slot < merged.Length; slot++)
        {
            if (merged[slot] is not { } list) continue;
            has[slot] = true;
            for (var j = 0; j < list.Count; j++)
            {
                ids[slot * k + j] = list[j].Id;
                logprobs[slot * k + j] = list[j].Logprob;
            }
        }
        var targets = TeacherTargets.TopK(tensor(ids, [batch, perRow, k]), tensor(logprobs, [batch, perRow, k]), tailPolicy);
        var groups = grouped ? ChunkStartGroups.Of(members) : null;
        return new ChunkStartTargets(targets, tensor(has, [batch, perRow]), matchedMass, totalMass, groups);
    }

    /// <summary>A token's stored alternatives that are not padding (or impossible).</summary>
    public static List<TopLogprob> Listed(TokenLogprob token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return [.. token.TopLogprobs.Where(a => a.Logprob > TokenDistribution.LogFloor)];
    }

    /// <summary>
    /// One chunk start's targets as the spelling rules place them: (student token or, under <see cref="AlternativeMatch.Prefix"/>,
    /// group number, logprob), the groups' (token, group) members (none otherwise), and the teacher mass placed.
    /// </summary>
    public static (List<(int Id, double Logprob)> Targets, List<(int Token, int Group)> Members, double Mass) AtOneStart(IReadOnlyList<TopLogprob> alternatives, StudentSpelling spelling)
    {
        ArgumentNullException.ThrowIfNull(alternatives);
        ArgumentNullException.ThrowIfNull(spelling);
        if (spelling.Match == AlternativeMatch.Prefix) return PrefixGroups.Of(alternatives, spelling);
        var (targets, mass) = ByFirstToken(alternatives, spelling);
        return (targets, [], mass);
    }

    /// <summary>Each alternative on its first student token; alternatives on the same token merge. Returns the targets and their mass.</summary>
    private static (List<(int Id, double Logprob)> Targets, double Mass) ByFirstToken(IReadOnlyList<TopLogprob> alternatives, StudentSpelling spelling)
    {
        var byStudent = new Dictionary<int, double>();
        double mass = 0;
        foreach (var alternative in alternatives)
        {
            var id = spelling.FirstToken(alternative.Bytes);
            if (id < 0) continue;
            mass += Math.Exp(alternative.Logprob);
            byStudent[id] = byStudent.TryGetValue(id, out var sum) ? LogAddExp(sum, alternative.Logprob) : alternative.Logprob;
        }
        return ([.. byStudent.Select(kv => (kv.Key, kv.Value))], mass);
    }

    private static double LogAddExp(double a, double b)
    {
        var max = Math.Max(a, b);
        return max + Math.Log(Math.Exp(a - max) + Math.Exp(b - max));
    }
}
