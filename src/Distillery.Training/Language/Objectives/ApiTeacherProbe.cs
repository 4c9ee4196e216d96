using System;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Models.Tokenizers;
using Distillery.Training.Language.Data;

namespace Distillery.Training.Language.Objectives;

/// <summary>Asks a teacher behind an API, once before training, to score one training sequence as on-policy samples will be scored.</summary>
public static class ApiTeacherProbe
{
    /// <summary>
    /// Scores <paramref name="example"/>'s text with the teacher and aligns its tokens with the student's by their bytes, as
    /// every sample will be (<see cref="SampledTokenMatch.TeacherLogprobs"/>; across tokenizers, chunk by chunk). A teacher
    /// whose echo cannot be aligned (its tokens do not spell the text sent), or that leaves no completion token scored, is
    /// refused with a one-line <see cref="InputException"/> at <c>--teacher</c>. An endpoint that cannot score text is the
    /// scorer's to refuse. Returns the probe's scores, for the caller to report.
    /// </summary>
    public static async Task<SampledTokenScores> CheckAsync(string teacher, TeacherTextScorer scorer, ITextTokenizer tokenizer, LmExample example, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(scorer);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(example);
        var (text, spelled) = SampledTokenMatch.TextOf(tokenizer, example.Ids);
        var score = await scorer(text, cancellationToken).ConfigureAwait(false);
        SampledTokenScores scores;
        try
        {
            scores = SampledTokenMatch.TeacherLogprobs(tokenizer, example.Ids, example.PromptLength, text, spelled, score);
        }
        catch (DistilleryException e)
        {
            throw InputException.InField("--teacher", $"{teacher}'s scoring cannot be aligned with the student's {tokenizer.Name} tokens ({e.Message}); on-policy scoring needs the echoed tokens to spell the text sent, with their text_offset");
        }
        if (scores.OneToOne + scores.ChunkedTokens == 0)
            throw InputException.InField("--teacher", $"{teacher} scored none of a training row's {example.CompletionLength} completion tokens as the student's {tokenizer.Name} splits them (every aligned chunk began in the prompt)");
        return scores;
    }
}
