using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Distillery.Core.Errors;
using Distillery.Models.Tokenizers;
using Distillery.Training.CrossTokenizer;

namespace Distillery.Training.Language.Objectives;

/// <summary>
/// The teacher's log-probability of each token the student sampled, from the teacher's scoring of the sample's text: the
/// two tokenisations are aligned by the bytes each token covers (<see cref="TokenAlignment"/>), and with one tokenizer on
/// both sides each sampled token must be exactly one teacher token.
/// </summary>
public static class SampledTokenMatch
{
    /// <summary>
    /// The text the teacher scores: the sequence (prompt through the chat template, then the continuation) decoded as the
    /// student reads it, and how many of its ids spell it (trailing stop tokens write no text, so no teacher scores them).
    /// </summary>
    public static (string Text, int Spelled) TextOf(ITextTokenizer tokenizer, IReadOnlyList<int> ids)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(ids);
        var spelled = ids.Count;
        while (spelled > 0 && tokenizer.StopIds.Contains(ids[spelled - 1])) spelled--;
        return (tokenizer.Decode([.. ids.Take(spelled)]), spelled);
    }

    /// <summary>
    /// The teacher's logprob of each continuation token (<c>ids[promptLength..]</c>), null for the trailing stop tokens
    /// that <see cref="TextOf"/> left out. Throws a <see cref="DistilleryException"/> naming the place where a sampled
    /// token is not exactly one teacher token (the teacher tokenises the text otherwise).
    /// </summary>
    /// <param name="tokenizer">The student's tokenizer.</param>
    /// <param name="ids">The student's sequence: prompt, then its sampled continuation.</param>
    /// <param name="promptLength">How many leading ids are prompt.</param>
    /// <param name="text">The sequence's text, from <see cref="TextOf"/>.</param>
    /// <param name="spelled">How many ids spell the text, from <see cref="TextOf"/>.</param>
    /// <param name="score">The teacher's scoring of the text.</param>
    public static double?[] TeacherLogprobs(ITextTokenizer tokenizer, IReadOnlyList<int> ids, int promptLength, string text, int spelled, TeacherTextScore score)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(score);
        score.Validate();
        if (promptLength < 0 || promptLength > ids.Count || spelled < 0 || spelled > ids.Count) throw new ArgumentOutOfRangeException(nameof(promptLength));
        var textBytes = Encoding.UTF8.GetByteCount(text);
        if (score.TokenBytes.Sum() != textBytes)
            throw new DistilleryException($"the teacher's tokens cover {score.TokenBytes.Sum()} bytes of a {textBytes}-byte sample; its echo does not spell the text it was sent");
        var student = TokenOffsets.Map(tokenizer, text, [.. ids.Take(spelled)]);
        var chunks = TokenAlignment.Align(TokenOffsets.FromLengths(score.TokenBytes, textBytes), student);
        var result = new double?[ids.Count - promptLength];
        foreach (var chunk in chunks)
        {
            if (chunk.StudentEnd <= promptLength) continue;
            if (!chunk.IsOneToOne)
            {
                var piece = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text), chunk.ByteStart, chunk.ByteEnd - chunk.ByteStart);
                throw new DistilleryException($"the teacher's tokens do not line up one to one with the student's sampled tokens at \"{piece}\" (student tokens {chunk.StudentStart}–{chunk.StudentEnd - 1}, " +
                    $"teacher tokens {chunk.TeacherStart}–{chunk.TeacherEnd - 1}); scoring on-policy samples through an API needs the teacher's tokenizer to be the student's");
            }
            result[chunk.StudentStart - promptLength] = score.Logprobs[chunk.TeacherStart];
        }
        return result;
    }
}
