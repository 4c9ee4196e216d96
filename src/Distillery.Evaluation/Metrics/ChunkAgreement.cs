using System;
using System.Collections.Generic;
using Distillery.Models.Tokenizers;

namespace Distillery.Evaluation.Metrics;

/// <summary>
/// Where two tokenisations of one text can be compared token for token: the one-to-one chunks, a token of each that covers
/// exactly the same non-empty bytes. Both predict that span from the same byte offset, so their top-1 choices can be
/// compared by the bytes they spell even though the vocabularies differ.
/// </summary>
public static class ChunkAgreement
{
    /// <summary>The pairs (teacher token, student token) that cover the same non-empty byte span, in text order.</summary>
    public static IReadOnlyList<(int Teacher, int Student)> OneToOne(TokenOffsets teacher, TokenOffsets student)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(student);
        var pairs = new List<(int, int)>();
        int t = 0, s = 0;
        // Two pointers over tokens ordered by their spans: a pair needs equal starts and equal ends.
        while (t < teacher.Count && s < student.Count)
        {
            if (teacher.Start(t) == teacher.End(t)) { t++; continue; }
            if (student.Start(s) == student.End(s)) { s++; continue; }
            if (teacher.Start(t) == student.Start(s) && teacher.End(t) == student.End(s)) pairs.Add((t++, s++));
            else if (teacher.End(t) <= student.End(s)) t++;
            else s++;
        }
        return pairs;
    }
}
