using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Hashing;
using Distillery.Core.Tokens;
using Distillery.Models.Tokenizers;
using Distillery.Training.CrossTokenizer;

namespace Distillery.Training.Language.Data;

/// <summary>
/// Turns dataset rows into student examples for a teacher that tokenises differently: the prompt through the student's
/// chat template, then the assistant's text encoded by the student on its own (so each completion token maps onto the
/// text's bytes), aligned by byte offsets with the teacher's tokenisation of the same text (<see cref="TokenAlignment"/>).
/// </summary>
public static class CrossTokenizerExampleBuilder
{
    private sealed record TeacherSide(TokenOffsets Offsets, IReadOnlyList<TokenLogprob>? Tokens, int[]? Ids, int PromptLength);

    /// <summary>
    /// Examples whose teacher side is the dataset's stored tokens (top-k mode): the teacher's offsets are the cumulative
    /// byte lengths of its tokens, which must spell the assistant's text. A row without stored tokens, or whose text the
    /// student's tokenizer cannot encode, is a one-line <see cref="InputException"/> naming the row.
    /// </summary>
    public static LmExampleSet FromStoredTokens(IReadOnlyList<DatasetRow> rows, ITextTokenizer student, ChatTemplate template, int maxLength, string source = "data.jsonl")
    {
        ArgumentNullException.ThrowIfNull(rows);
        return Build(rows, student, template, maxLength, source, (row, line, completion) =>
        {
            var stored = row.Distillery?.Tokens ?? [];
            if (stored.Count == 0)
                throw InputException.AtLine(source, line, "has no stored token logprobs for top-k distillation; generate the dataset with top_logprobs, or use --mode sft");
            var lengths = stored.Select(t => t.Bytes.Count).ToArray();
            var spelled = stored.SelectMany(t => t.Bytes).Select(b => checked((byte)b)).ToArray();
            var text = Encoding.UTF8.GetBytes(completion);
            var offsets = TokenOffsets.FromTokenBytes(lengths, spelled, text);
            // A SentencePiece-style teacher (llama2.c) stores its first token with the dummy-prefix space that decoding drops.
            if (offsets is null && spelled.Length > 0 && spelled[0] == (byte)' ' && lengths[0] > 0)
            {
                lengths[0]--;
                offsets = TokenOffsets.FromTokenBytes(lengths, spelled.AsSpan(1), text);
            }
            return new TeacherSide(offsets ?? throw InputException.AtLine(source, line,
                "the stored tokens' bytes do not spell the assistant's text, so they cannot be aligned with the student's tokens; regenerate the row"), stored, null, 0);
        });
    }

    /// <summary>
    /// Examples whose teacher side is a local teacher's own tokenisation (white-box mode): the prompt through the teacher's
    /// chat template, then the assistant's text encoded by the teacher on its own.
    /// </summary>
    public static LmExampleSet ForLocalTeacher(IReadOnlyList<DatasetRow> rows, ITextTokenizer student, ChatTemplate template, ITextTokenizer teacher,
        ChatTemplate teacherTemplate, int maxLength, string source = "data.jsonl")
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(teacherTemplate);
        return Build(rows, student, template, maxLength, source, (row, line, completion) =>
        {
            var promptText = teacherTemplate.Apply(row.Messages.Take(row.Messages.Count - 1).ToList(), addGenerationPrompt: true);
            var prompt = teacher.Encode(promptText, teacher.BosId is not null);
            var ids = teacher.Encode(completion);
            var offsets = Offsets(teacher, completion, ids, source, line);
            return new TeacherSide(offsets, null, [.. prompt, .. ids.Take(Math.Max(0, maxLength - prompt.Count))], prompt.Count);
        });
    }

    private static LmExampleSet Build(IReadOnlyList<DatasetRow> rows, ITextTokenizer student, ChatTemplate template, int maxLength, string source,
        Func<DatasetRow, int, string, TeacherSide> teacherSide)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        var end = student.StopIds.Order().Cast<int?>().FirstOrDefault(id => id != student.BosId);
        var examples = new List<LmExample>(rows.Count);
        var skipped = 0;
        for (var r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            var line = r + 1;
            var (promptText, completion) = LmExampleBuilder.PromptAndCompletion(row, template, source, line);
            var promptIds = student.Encode(promptText, student.BosId is not null);
            var completionIds = student.Encode(completion);
            var studentOffsets = Offsets(student, completion, completionIds, source, line);
            var teacher = teacherSide(row, line, completion);
            var chunks = TokenAlignment.Align(teacher.Offsets, studentOffsets);

            var ids = new List<int>(promptIds.Count + completionIds.Count + 1);
            ids.AddRange(promptIds);
            ids.AddRange(completionIds);
            if (end is { } eos && (row.Distillery?.FinishReason ?? "stop") == "stop") ids.Add(eos);
            if (ids.Count > maxLength) ids.RemoveRange(maxLength, ids.Count - maxLength);
            if (ids.Count <= promptIds.Count)
            {
                skipped++;
                continue;
            }
            // Shift into batch coordinates (position t predicts token t + 1) and keep the chunks truncation left whole.
            var studentShift = promptIds.Count - 1;
            var teacherShift = teacher.Ids is null ? 0 : teacher.PromptLength - 1;
            var teacherLimit = teacher.Ids is null ? teacher.Offsets.Count : teacher.Ids.Length - 1;
            var kept = chunks
                .Select(c => c with { StudentStart = c.StudentStart + studentShift, StudentEnd = c.StudentEnd + studentShift, TeacherStart = c.TeacherStart + teacherShift, TeacherEnd = c.TeacherEnd + teacherShift })
                .Where(c => c.StudentEnd <= ids.Count - 1 && c.TeacherEnd <= teacherLimit && c.StudentStart >= 0 && c.TeacherStart >= 0)
                .ToArray();
            var provenance = row.Distillery;
            var name = provenance is null ? "none" : $"{provenance.Teacher.Provider}:{provenance.Teacher.RequestedModel}";
            var group = provenance?.PromptId ?? "prompt-" + StableHash.Of(promptText).ToString("x16", CultureInfo.InvariantCulture);
            examples.Add(new LmExample([.. ids], promptIds.Count, null, name, group)
            {
                Cross = new CrossTokenizerRow(kept, teacher.Tokens, teacher.Ids, teacher.Offsets.Count),
            });
        }
        return new LmExampleSet(examples, skipped);
    }

    /// <summary>The tokens' byte offsets in the text; a tokenizer that cannot spell the text is a one-line error naming the row.</summary>
    private static TokenOffsets Offsets(ITextTokenizer tokenizer, string text, IReadOnlyList<int> ids, string source, int line)
    {
        try
        {
            return TokenOffsets.Map(tokenizer, text, ids);
        }
        catch (InputException e)
        {
            throw InputException.AtLine(source, line, e.Message);
        }
    }
}
