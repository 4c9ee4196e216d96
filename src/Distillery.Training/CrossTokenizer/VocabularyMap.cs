using System;
using System.Collections.Generic;
using Distillery.Models.Tokenizers;
using Distillery.Training.Language.Data;
using static TorchSharp.torch;

namespace Distillery.Training.CrossTokenizer;

/// <summary>
/// The tokens two vocabularies share: teacher id → student id where both ids spell exactly the same bytes. One-to-one:
/// where a vocabulary spells the same bytes with two ids (SentencePiece byte fallback), the id its encoder prefers stands
/// for them (<see cref="LmExampleBuilder.ByteVocabulary"/>). Special tokens are never shared.
/// </summary>
public sealed class VocabularyMap
{
    private readonly Dictionary<int, int> studentOf;

    private VocabularyMap(Dictionary<int, int> studentOf, int teacherVocabSize, int studentVocabSize)
    {
        this.studentOf = studentOf;
        TeacherVocabSize = teacherVocabSize;
        StudentVocabSize = studentVocabSize;
        var teacherIds = new long[studentOf.Count];
        var studentIds = new long[studentOf.Count];
        var i = 0;
        foreach (var (t, s) in studentOf)
        {
            teacherIds[i] = t;
            studentIds[i] = s;
            i++;
        }
        Array.Sort(teacherIds, studentIds);
        TeacherIds = tensor(teacherIds);
        StudentIds = tensor(studentIds);
    }

    /// <summary>Maps the tokens two tokenizers share by bytes.</summary>
    public static VocabularyMap Between(ITextTokenizer teacher, ITextTokenizer student)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(student);
        var studentByBytes = LmExampleBuilder.ByteVocabulary(student);
        var pairs = new Dictionary<int, int>();
        foreach (var (bytes, teacherId) in LmExampleBuilder.ByteVocabulary(teacher))
            if (studentByBytes.TryGetValue(bytes, out var studentId)) pairs[teacherId] = studentId;
        return new VocabularyMap(pairs, teacher.VocabSize, student.VocabSize);
    }

    /// <summary>A map from explicit pairs (teacher id, student id); both sides must be distinct.</summary>
    public static VocabularyMap FromPairs(IEnumerable<(int Teacher, int Student)> pairs, int teacherVocabSize, int studentVocabSize)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var map = new Dictionary<int, int>();
        var seen = new HashSet<int>();
        foreach (var (t, s) in pairs)
        {
            if (t < 0 || t >= teacherVocabSize || s < 0 || s >= studentVocabSize) throw new ArgumentOutOfRangeException(nameof(pairs), $"pair ({t}, {s}) lies outside the vocabularies");
            if (!map.TryAdd(t, s) || !seen.Add(s)) throw new ArgumentException($"pair ({t}, {s}) repeats a teacher or a student id; the map must be one-to-one", nameof(pairs));
        }
        return new VocabularyMap(map, teacherVocabSize, studentVocabSize);
    }

    /// <summary>The teacher's vocabulary size.</summary>
    public int TeacherVocabSize { get; }

    /// <summary>The student's vocabulary size.</summary>
    public int StudentVocabSize { get; }

    /// <summary>The number of shared tokens.</summary>
    public int Count => studentOf.Count;

    /// <summary>The shared tokens' teacher ids, ascending, (M) int64.</summary>
    public Tensor TeacherIds { get; }

    /// <summary>The student id of each entry of <see cref="TeacherIds"/>, (M) int64.</summary>
    public Tensor StudentIds { get; }

    /// <summary>The student id spelling the same bytes as a teacher id, or −1.</summary>
    public int StudentOf(int teacherId) => studentOf.TryGetValue(teacherId, out var s) ? s : -1;
}
