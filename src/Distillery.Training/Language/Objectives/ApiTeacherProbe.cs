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
    /// Scores <paramref name="example"/>'s text with the teacher and matches its completion tokens to the teacher's; a teacher
    /// that tokenises text otherwise than the student is refused with a one-line <see cref="InputException"/> at <c>--teacher</c>
    /// (scoring across tokenizers is not supported yet). An endpoint that cannot score text is the scorer's to refuse.
    /// </summary>
    public static async Task CheckAsync(string teacher, TeacherTextScorer scorer, ITextTokenizer tokenizer, LmExample example, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(scorer);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(example);
        var (text, spelled) = SampledTokenMatch.TextOf(tokenizer, example.Ids);
        var score = await scorer(text, cancellationToken).ConfigureAwait(false);
        try
        {
            SampledTokenMatch.CheckOneToOne(tokenizer, example.Ids, example.PromptLength, text, spelled, score);
        }
        catch (DistilleryException e)
        {
            throw InputException.InField("--teacher", $"{teacher} does not tokenise text as the student's {tokenizer.Name} does ({e.Message}); " +
                "on-policy scoring through an API across tokenizers is not supported yet: give a student with the teacher's tokenizer");
        }
    }
}
