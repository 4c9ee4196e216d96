using System;
using System.Collections.Generic;
using Distillery.Models.Tokenizers;

namespace Distillery.Training.CrossTokenizer;

/// <summary>Aligns two tokenisations of the same text by the bytes each token covers (issue 14, deliverable 1).</summary>
public static class TokenAlignment
{
    /// <summary>
    /// Splits the text into the shortest chunks at whose both ends the teacher's and the student's tokens each have a
    /// boundary, in one two-pointer walk (O(teacher + student tokens)). The chunks cover the text's bytes exactly and
    /// each stream's tokens exactly, in order. A token that covers zero bytes (BOS, a dummy-prefix space) joins the chunk
    /// that starts where it stands, or the last chunk at the end of the text; an empty text with tokens is one chunk.
    /// </summary>
    public static IReadOnlyList<AlignedChunk> Align(TokenOffsets teacher, TokenOffsets student)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(student);
        if (teacher.TextBytes != student.TextBytes)
            throw new ArgumentException($"the teacher's tokens cover {teacher.TextBytes} bytes and the student's {student.TextBytes}; both must tokenise the same text");
        var chunks = new List<AlignedChunk>();
        var length = teacher.TextBytes;
        int t = 0, s = 0, at = 0;
        while (at < length)
        {
            int t0 = t, s0 = s, start = at;
            // Take one token that covers bytes on each side (zero-byte tokens before it come along), then keep taking
            // from the side whose boundary lags until both streams end at the same byte.
            var teacherEnd = teacher.End(t++);
            while (teacherEnd == at) teacherEnd = teacher.End(t++);
            var studentEnd = student.End(s++);
            while (studentEnd == at) studentEnd = student.End(s++);
            while (teacherEnd != studentEnd)
            {
                if (teacherEnd < studentEnd) teacherEnd = teacher.End(t++);
                else studentEnd = student.End(s++);
            }
            at = teacherEnd;
            if (at == length) (t, s) = (teacher.Count, student.Count); // trailing zero-byte tokens join the last chunk
            chunks.Add(new AlignedChunk(start, at, t0, t, s0, s));
        }
        if (length == 0 && (teacher.Count > 0 || student.Count > 0)) chunks.Add(new AlignedChunk(0, 0, 0, teacher.Count, 0, student.Count));
        return chunks;
    }

    /// <summary>Encodes the text with both tokenizers and aligns the encodings; see <see cref="Align(TokenOffsets, TokenOffsets)"/>.</summary>
    public static IReadOnlyList<AlignedChunk> Align(ITextTokenizer teacher, IReadOnlyList<int> teacherIds, ITextTokenizer student, IReadOnlyList<int> studentIds, string text) =>
        Align(TokenOffsets.Map(teacher, text, teacherIds), TokenOffsets.Map(student, text, studentIds));
}
