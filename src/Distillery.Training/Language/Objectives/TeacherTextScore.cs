using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Distillery.Training.Language.Objectives;

/// <summary>
/// Text as a teacher behind an API scored it, in the teacher's own tokens (an echoed prompt): each token's length in
/// UTF-8 bytes of the text, in order and covering it exactly, and its log-probability given the text before it (0 for
/// the first token, which has no prefix).
/// </summary>
public sealed record TeacherTextScore(IReadOnlyList<int> TokenBytes, IReadOnlyList<double> Logprobs)
{
    /// <summary>Throws unless there is one logprob per token.</summary>
    public TeacherTextScore Validate()
    {
        ArgumentNullException.ThrowIfNull(TokenBytes);
        ArgumentNullException.ThrowIfNull(Logprobs);
        if (TokenBytes.Count != Logprobs.Count) throw new ArgumentException($"{TokenBytes.Count} tokens but {Logprobs.Count} logprobs");
        return this;
    }
}

/// <summary>Scores a text with a teacher behind an API: the teacher's tokens of it and their log-probabilities.</summary>
public delegate Task<TeacherTextScore> TeacherTextScorer(string text, CancellationToken cancellationToken);

/// <summary>A teacher behind an API that scores on-policy samples: how to ask it, and where its requests go and are booked (for the lineage).</summary>
/// <param name="Score">Scores a text.</param>
/// <param name="Endpoint">The endpoint the scoring requests go to, as the ledger records it.</param>
/// <param name="Ledger">The ledger they go through (a file's full path, or a database URL without its password).</param>
public sealed record ApiScoringTeacher(TeacherTextScorer Score, string Endpoint, string Ledger);
