using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Models.Tokenizers;
using Distillery.Training.Language.Data;
using Distillery.Training.Losses;
using static TorchSharp.torch;

namespace Distillery.Training.Language.Objectives;

/// <summary>
/// A teacher behind an API scores the samples: each sequence (prompt through the chat template, then the sampled
/// continuation) is decoded to text and scored by the teacher in its own tokens (echoed prompt logprobs, all of a batch's
/// sequences at once); the two tokenisations are aligned by bytes (<see cref="SampledTokenMatch"/>), so each sampled token
/// that is one teacher token takes that token's logprob, and a stretch the teacher tokenises otherwise (across tokenizers,
/// most of them) is one chunk with one advantage (see <see cref="DistillationLosses.SampledReverseKlFromTeacherLogprobs"/>).
/// The sampled per-token reverse KL runs on them: one logprob per token allows no other divergence. A stop token writes no
/// text, so no teacher scores it; it is left out of the loss, as is a chunk that begins in the prompt.
/// </summary>
public sealed class ApiSampleScorer : ISampleScorer
{
    private readonly DistillationStudent model;
    private readonly ITextTokenizer tokenizer;
    private readonly TeacherTextScorer scorer;
    private readonly CancellationToken cancellationToken;

    /// <summary>Creates the scorer; <paramref name="cancellationToken"/> (the run's) cancels the requests in flight.</summary>
    public ApiSampleScorer(DistillationStudent model, ITextTokenizer tokenizer, TeacherTextScorer scorer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(scorer);
        this.model = model;
        this.tokenizer = tokenizer;
        this.scorer = scorer;
        this.cancellationToken = cancellationToken;
    }

    /// <summary>Sequences the teacher scored so far in this process.</summary>
    public long ScoredSequences { get; private set; }

    /// <summary>Sampled tokens that were one teacher token each, so far in this process.</summary>
    public long OneToOneTokens { get; private set; }

    /// <summary>Sampled tokens the teacher scored only together with their neighbours (chunks), so far in this process.</summary>
    public long ChunkedTokens { get; private set; }

    /// <inheritdoc />
    public Tensor Loss(LmBatch samples, double normalizer)
    {
        ArgumentNullException.ThrowIfNull(samples);
        // The trainer's step is synchronous; the requests of one batch go out together and the step waits for them.
        var teacher = Task.Run(() => TeacherLogprobsAsync(samples), cancellationToken).GetAwaiter().GetResult();
        var (b, t) = (samples.Targets.shape[0], samples.Targets.shape[1]);
        var device = samples.Inputs.device;
        var teacherLogprobs = tensor(teacher.Values, [b, t], ScalarType.Float32).to(device);
        var scored = tensor(teacher.Scored, [b, t]).to(device);
        var chunks = tensor(teacher.Chunks, [b, t], ScalarType.Int64).to(device);
        var logits = model.Student.Forward(samples.Inputs).Logits; // (B, T, V)
        return DistillationLosses.SampledReverseKlFromTeacherLogprobs(logits, teacherLogprobs, samples.Targets, samples.LossMask.logical_and(scored), normalizer, chunks);
    }

    /// <summary>The teacher's logprob at each target position (B·T, row-major), whether it has one, and the position naming its chunk.</summary>
    private async Task<(float[] Values, bool[] Scored, long[] Chunks)> TeacherLogprobsAsync(LmBatch samples)
    {
        var t = (int)samples.Targets.shape[1];
        var values = new float[samples.Examples.Count * t];
        var scored = new bool[values.Length];
        var chunks = new long[values.Length];
        for (var i = 0; i < chunks.Length; i++) chunks[i] = i % t;
        var rows = await Task.WhenAll(samples.Examples.Select(async e =>
        {
            var (text, spelled) = SampledTokenMatch.TextOf(tokenizer, e.Ids);
            var score = await scorer(text, cancellationToken).ConfigureAwait(false);
            return SampledTokenMatch.TeacherLogprobs(tokenizer, e.Ids, e.PromptLength, text, spelled, score);
        })).ConfigureAwait(false);
        for (var row = 0; row < rows.Length; row++)
        {
            var promptLength = samples.Examples[row].PromptLength;
            var scores = rows[row];
            for (var c = 0; c < scores.TeacherLogprobs.Length; c++)
            {
                // Completion token c is the target at position promptLength + c − 1 (targets are the inputs shifted by one).
                var position = promptLength + c - 1;
                if (scores.TeacherLogprobs[c] is not { } logprob || position < 0) continue;
                values[row * t + position] = (float)logprob;
                scored[row * t + position] = true;
                chunks[row * t + position] = Math.Max(0, promptLength + scores.Chunks[c] - 1);
            }
            OneToOneTokens += scores.OneToOne;
            ChunkedTokens += scores.ChunkedTokens;
        }
        ScoredSequences += rows.Length;
        return (values, scored, chunks);
    }
}
