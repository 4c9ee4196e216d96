using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Unicode;
using Distillery.Core.Errors;
using Distillery.Models.Tokenizers;
using Distillery.Training.CrossTokenizer;

namespace Distillery.Training.Language.Objectives;

/// <summary>
/// The teacher's log-probability of each token the student sampled, from the teacher's scoring of the sample's text: the
/// two tokenisations are aligned by the bytes each token covers (<see cref="TokenAlignment"/>) into chunks, the shortest
/// stretches where both sides' token boundaries meet. With one tokenizer on both sides nearly every chunk is one token on
/// each side; across tokenizers a chunk holds one or more tokens of each, and is scored as a whole.
/// </summary>
public static class SampledTokenMatch
{
    /// <summary>
    /// The text the teacher scores: the sequence (prompt through the chat template, then the continuation) decoded as the
    /// student reads it, and how many of its ids spell it. Trailing stop tokens write no text, and a sample can end in bytes
    /// that are no UTF-8 text (a byte-fallback token that begins a character no later token finishes): the text stops at
    /// the last token boundary where its bytes are whole characters, and no teacher scores the tokens after it.
    /// </summary>
    public static (string Text, int Spelled) TextOf(ITextTokenizer tokenizer, IReadOnlyList<int> ids)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(ids);
        var end = ids.Count;
        while (end > 0 && tokenizer.StopIds.Contains(ids[end - 1])) end--;
        // The bytes each token spells, as TokenOffsets.Map reads them (the first as if it followed BOS).
        var bytes = new List<byte>();
        int spelled = 0, validBytes = 0, previous = tokenizer.BosId ?? -1;
        for (var i = 0; i < end; i++)
        {
            var id = ids[i];
            // BOS writes no text; another special token (a chat marker) is written as itself, as the template wrote it.
            if (id != tokenizer.BosId) bytes.AddRange(tokenizer.IsSpecial(id) ? tokenizer.TokenBytes(id) : tokenizer.DecodeStep(previous, id));
            previous = id;
            // Whole characters so far when the bytes since the last such boundary are (valid pieces concatenate to valid text).
            if (!Utf8.IsValid(CollectionsMarshal.AsSpan(bytes)[validBytes..])) continue;
            spelled = i + 1;
            validBytes = bytes.Count;
        }
        return (Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(bytes)[..validBytes]), spelled);
    }

    /// <summary>
    /// The teacher's scores of the continuation tokens (<c>ids[promptLength..]</c>), read from its scoring of the text by the
    /// bytes each token covers. A sampled token that is exactly one teacher token gets that token's logprob; where the teacher
    /// tokenises a stretch otherwise (a sample the tokenizer would not have produced from the text, such as two tokens it
    /// would merge, or a literal "&lt;unk&gt;"), the stretch is one chunk, scored as a whole. The tokens after
    /// <paramref name="spelled"/> (left out by <see cref="TextOf"/>) and a chunk that begins in the prompt are not scored.
    /// </summary>
    /// <param name="tokenizer">The student's tokenizer.</param>
    /// <param name="ids">The student's sequence: prompt, then its sampled continuation.</param>
    /// <param name="promptLength">How many leading ids are prompt.</param>
    /// <param name="text">The sequence's text, from <see cref="TextOf"/>.</param>
    /// <param name="spelled">How many ids spell the text, from <see cref="TextOf"/>.</param>
    /// <param name="score">The teacher's scoring of the text.</param>
    public static SampledTokenScores TeacherLogprobs(ITextTokenizer tokenizer, IReadOnlyList<int> ids, int promptLength, string text, int spelled, TeacherTextScore score)
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
        var chunks = TokenAlignment.Align(TokenOffsets.FromLengths(score.TokenBytes, textBytes), TokenOffsets.Map(tokenizer, text, [.. ids.Take(spelled)]));
        var totals = TeacherChunkScoring.ChunkLogprobs(score.Logprobs, chunks);
        var count = ids.Count - promptLength;
        var logprobs = new double?[count];
        var chunkOf = Enumerable.Range(0, count).ToArray();
        int oneToOne = 0, chunked = 0, firstChunked = -1;
        for (var c = 0; c < chunks.Count; c++)
        {
            var chunk = chunks[c];
            if (chunk.StudentStart < promptLength) continue; // the prompt, or a chunk that joins its end to the sample
            var first = chunk.StudentStart - promptLength;
            for (var s = chunk.StudentStart; s < chunk.StudentEnd; s++)
            {
                logprobs[s - promptLength] = s == chunk.StudentStart ? totals[c] : 0;
                chunkOf[s - promptLength] = first;
            }
            if (chunk.IsOneToOne) oneToOne++;
            else
            {
                chunked += chunk.StudentEnd - chunk.StudentStart;
                if (firstChunked < 0) firstChunked = first;
            }
        }
        return new SampledTokenScores(logprobs, chunkOf, oneToOne, chunked, firstChunked);
    }
}

/// <summary>The teacher's scores of a sample's continuation tokens (<see cref="SampledTokenMatch.TeacherLogprobs"/>).</summary>
/// <param name="TeacherLogprobs">Per continuation token: the teacher's logprob (a chunk's total on its first token, 0 on its others), null where not scored.</param>
/// <param name="Chunks">Per continuation token: the index of the first token of its chunk (its own where it is one teacher token).</param>
/// <param name="OneToOne">Continuation tokens that are exactly one teacher token each.</param>
/// <param name="ChunkedTokens">Continuation tokens scored only with their neighbours, as chunks.</param>
/// <param name="FirstChunked">The first of those (a continuation index), or −1.</param>
public sealed record SampledTokenScores(double?[] TeacherLogprobs, int[] Chunks, int OneToOne, int ChunkedTokens, int FirstChunked);
