namespace Distillery.Training.CrossTokenizer;

/// <summary>
/// One chunk of a text tokenised two ways: the shortest byte span at whose both ends the teacher's and the student's
/// token streams each have a boundary. Token ranges are half-open indices into each stream; byte ranges index the
/// original text's UTF-8 bytes.
/// </summary>
public readonly record struct AlignedChunk(int ByteStart, int ByteEnd, int TeacherStart, int TeacherEnd, int StudentStart, int StudentEnd)
{
    /// <summary>Whether the chunk is one teacher token and one student token (their vocabularies agree here).</summary>
    public bool IsOneToOne => TeacherEnd - TeacherStart == 1 && StudentEnd - StudentStart == 1;
}
