using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Tokenizers;
using Distillery.Training.CrossTokenizer;
using Xunit.Abstractions;

namespace Distillery.Training.Tests.CrossTokenizer;

public sealed class TokenAlignmentTests(ITestOutputHelper output)
{
    [Fact]
    public void Hand_checked_chunks_end_where_both_streams_have_a_boundary()
    {
        // "abcde": teacher "ab" | "cde", student "a" | "b" | "cde".
        var chunks = TokenAlignment.Align(TokenOffsets.FromLengths([2, 3], 5), TokenOffsets.FromLengths([1, 1, 3], 5));
        Assert.Equal([new AlignedChunk(0, 2, 0, 1, 0, 2), new AlignedChunk(2, 5, 1, 2, 2, 3)], chunks);
        Assert.False(chunks[0].IsOneToOne);
        Assert.True(chunks[1].IsOneToOne);

        // Crossing boundaries merge: teacher "ab" | "cd" | "e", student "a" | "bc" | "de" → one chunk of everything.
        Assert.Equal([new AlignedChunk(0, 5, 0, 3, 0, 3)], TokenAlignment.Align(TokenOffsets.FromLengths([2, 2, 1], 5), TokenOffsets.FromLengths([1, 2, 2], 5)));
    }

    [Fact]
    public void Zero_byte_tokens_join_the_chunk_that_starts_where_they_stand_or_the_last_one()
    {
        // Teacher: BOS (0 bytes), "ab", "c", EOS (0 bytes); student: "a", "bc".
        var chunks = TokenAlignment.Align(TokenOffsets.FromLengths([0, 2, 1, 0], 3), TokenOffsets.FromLengths([1, 2], 3));
        Assert.Equal([new AlignedChunk(0, 3, 0, 4, 0, 2)], chunks);
        // A zero-byte token in the middle (a special between words) goes with what follows it.
        chunks = TokenAlignment.Align(TokenOffsets.FromLengths([1, 0, 1], 2), TokenOffsets.FromLengths([1, 1], 2));
        Assert.Equal([new AlignedChunk(0, 1, 0, 1, 0, 1), new AlignedChunk(1, 2, 1, 3, 1, 2)], chunks);
        // An empty text: one chunk holding whatever tokens there are; none when neither has any.
        Assert.Equal([new AlignedChunk(0, 0, 0, 1, 0, 0)], TokenAlignment.Align(TokenOffsets.FromLengths([0], 0), TokenOffsets.FromLengths([], 0)));
        Assert.Empty(TokenAlignment.Align(TokenOffsets.FromLengths([], 0), TokenOffsets.FromLengths([], 0)));
    }

    [Fact]
    public void Offsets_of_different_texts_are_refused()
    {
        Assert.Throws<ArgumentException>(() => TokenAlignment.Align(TokenOffsets.FromLengths([3], 3), TokenOffsets.FromLengths([4], 4)));
    }

    [SharedDataFact(TokenizerData.SharedFolder)]
    public async Task Identical_tokenizers_give_only_one_to_one_chunks()
    {
        foreach (var tok in await AllAsync())
        {
            var ids = tok.Encode(TokenizerData.MixedText, addBos: true);
            var chunks = TokenAlignment.Align(tok, ids, tok, ids, TokenizerData.MixedText);
            // BOS covers no bytes, so it shares the first chunk; every other chunk is one token on each side.
            var first = tok.BosId is null ? 0 : 1;
            Assert.All(chunks.Skip(first), c => Assert.True(c.IsOneToOne, $"{tok.Name}: {c}"));
            Assert.Equal(ids.Count - first, chunks.Count);
        }
    }

    [SharedDataFact(TokenizerData.SharedFolder)]
    public async Task Chunks_cover_real_text_exactly_and_both_streams_spell_each_chunk_for_every_pair()
    {
        var all = await AllAsync();
        foreach (var text in new[] { TokenizerData.MixedText, Stories })
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            foreach (var teacher in all)
            foreach (var student in all.Where(s => s != teacher))
            {
                var teacherIds = teacher.Encode(text, addBos: true);
                var studentIds = student.Encode(text);
                var chunks = TokenAlignment.Align(teacher, teacherIds, student, studentIds, text);
                var pair = $"{teacher.Name} → {student.Name}";
                Assert.Equal(0, chunks[0].ByteStart);
                Assert.Equal(bytes.Length, chunks[^1].ByteEnd);
                Assert.Equal((0, 0), (chunks[0].TeacherStart, chunks[0].StudentStart));
                Assert.Equal((teacherIds.Count, studentIds.Count), (chunks[^1].TeacherEnd, chunks[^1].StudentEnd));
                for (var c = 0; c < chunks.Count; c++)
                {
                    var chunk = chunks[c];
                    Assert.True(chunk.ByteEnd > chunk.ByteStart && chunk.TeacherEnd > chunk.TeacherStart && chunk.StudentEnd > chunk.StudentStart, $"{pair}: empty side in {chunk}");
                    if (c > 0) Assert.Equal((chunks[c - 1].ByteEnd, chunks[c - 1].TeacherEnd, chunks[c - 1].StudentEnd), (chunk.ByteStart, chunk.TeacherStart, chunk.StudentStart));
                    var expected = bytes[chunk.ByteStart..chunk.ByteEnd];
                    Assert.True(expected.SequenceEqual(Spell(teacher, teacherIds, chunk.TeacherStart, chunk.TeacherEnd)), $"{pair}: teacher tokens do not spell {chunk}");
                    Assert.True(expected.SequenceEqual(Spell(student, studentIds, chunk.StudentStart, chunk.StudentEnd)), $"{pair}: student tokens do not spell {chunk}");
                }
                // Shortest: no chunk could be split at a byte where both streams have a boundary inside it.
                var teacherEnds = BoundarySet(TokenOffsets.Map(teacher, text, teacherIds));
                var studentEnds = BoundarySet(TokenOffsets.Map(student, text, studentIds));
                Assert.All(chunks, c => Assert.DoesNotContain(Enumerable.Range(c.ByteStart + 1, c.ByteEnd - c.ByteStart - 1), b => teacherEnds.Contains(b) && studentEnds.Contains(b)));
                if (text == Stories) output.WriteLine($"{pair}: {chunks.Count(c => c.IsOneToOne) / (double)chunks.Count:P1} of {chunks.Count} chunks one-to-one");
            }
        }
    }

    [SharedDataFact(TokenizerData.SharedFolder)]
    public async Task Qwen3_nfc_text_aligns_against_the_decomposed_original()
    {
        var qwen = await TokenizerData.LoadRealAsync("qwen3");
        var gpt = await TokenizerData.LoadRealAsync("gpt-4o");
        const string text = "Cafe\u0301 re\u0301sume\u0301, A\u030angstro\u0308m 🙂";
        var chunks = TokenAlignment.Align(qwen, qwen.Encode(text), gpt, gpt.Encode(text), text);
        var bytes = Encoding.UTF8.GetBytes(text);
        Assert.Equal(bytes.Length, chunks[^1].ByteEnd);
        // Each chunk's GPT-4o tokens spell the original bytes; its Qwen3 tokens spell the same text in NFC.
        var qwenIds = qwen.Encode(text);
        var gptIds = gpt.Encode(text);
        foreach (var c in chunks)
        {
            var original = bytes[c.ByteStart..c.ByteEnd];
            Assert.Equal(original, Spell(gpt, gptIds, c.StudentStart, c.StudentEnd));
            Assert.Equal(Encoding.UTF8.GetString(original).Normalize(NormalizationForm.FormC), Encoding.UTF8.GetString(Spell(qwen, qwenIds, c.TeacherStart, c.TeacherEnd)));
        }
    }

    [SharedDataFact(TokenizerData.SharedFolder)]
    public async Task Random_texts_with_marks_emoji_and_whitespace_runs_align_for_every_pair()
    {
        // Pieces that stress the offset maps: whitespace runs, digits, byte-fallback characters, combining marks that
        // Qwen3's NFC composes (and one it cannot), a mark with no base, ZWJ emoji sequences.
        string[] pool = ["a", "e", "Lily", " ", "  ", "\n", "\n\n", "\t", "7", "2024", ".", "'s", "東", "京", "한", "🙂", "👨‍👩‍👧", "🏽",
                         "\u0301", "\u0308", "\u0323", "q\u0307", "é", "Å", "—", "\r\n"];
        var all = await AllAsync();
        var random = new Random(14);
        for (var round = 0; round < 25; round++)
        {
            var text = string.Concat(Enumerable.Range(0, random.Next(0, 16)).Select(_ => pool[random.Next(pool.Length)]));
            var bytes = Encoding.UTF8.GetBytes(text);
            foreach (var teacher in all)
            foreach (var student in all)
            {
                var teacherIds = teacher.Encode(text, addBos: round % 2 == 0);
                var studentIds = student.Encode(text);
                var chunks = TokenAlignment.Align(teacher, teacherIds, student, studentIds, text);
                var where = $"{teacher.Name} → {student.Name} on {System.Text.Json.JsonSerializer.Serialize(text)}";
                Assert.Equal(bytes.Length, chunks.Count == 0 ? 0 : chunks[^1].ByteEnd);
                Assert.Equal(teacherIds.Count, chunks.Count == 0 ? 0 : chunks[^1].TeacherEnd);
                Assert.Equal(studentIds.Count, chunks.Count == 0 ? 0 : chunks[^1].StudentEnd);
                for (var c = 0; c < chunks.Count; c++)
                {
                    var chunk = chunks[c];
                    if (c > 0) Assert.Equal((chunks[c - 1].ByteEnd, chunks[c - 1].TeacherEnd, chunks[c - 1].StudentEnd), (chunk.ByteStart, chunk.TeacherStart, chunk.StudentStart));
                    var original = bytes[chunk.ByteStart..chunk.ByteEnd];
                    // A token that ends inside a character the normaliser changed covers none of it (TokenOffsets.Map), so
                    // chunk by chunk only a tokenizer that leaves this text as it is spells the original exactly.
                    if (teacher.Normalize(text) == text) Assert.True(original.SequenceEqual(Spell(teacher, teacherIds, chunk.TeacherStart, chunk.TeacherEnd)), $"{where}: teacher side of {chunk}");
                    if (student.Normalize(text) == text) Assert.True(original.SequenceEqual(Spell(student, studentIds, chunk.StudentStart, chunk.StudentEnd)), $"{where}: student side of {chunk}");
                }
                Assert.Equal(Encoding.UTF8.GetBytes(teacher.Normalize(text)), Spell(teacher, teacherIds, 0, teacherIds.Count));
                Assert.Equal(Encoding.UTF8.GetBytes(student.Normalize(text)), Spell(student, studentIds, 0, studentIds.Count));
            }
        }
    }

    [Fact]
    public void A_tokenizer_that_cannot_encode_the_text_is_a_one_line_input_error()
    {
        var letters = TokenizerData.LettersOnly();
        const string text = "ab cd";
        var e = Assert.Throws<InputException>(() => TokenAlignment.Align(letters, letters.Encode(text), letters, letters.Encode(text), text));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("cannot encode", e.Message);
    }

    private const string Stories =
        "Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. One day, she saw a big, " +
        "red ball in the park. \"Can I play with it?\" she asked her mom. Her mom smiled and said, \"Yes, but be careful!\"\n\n" +
        "Lily kicked the ball 3 times. It went up, up, up… and landed in a tree! Tom, her friend, helped her get it down.";

    private static Task<List<ITextTokenizer>> AllAsync() => TokenizerData.AllAsync();

    private static byte[] Spell(ITextTokenizer tok, IReadOnlyList<int> ids, int from, int to)
    {
        var spelled = new List<byte>();
        for (var i = from; i < to; i++)
            if (!tok.IsSpecial(ids[i])) spelled.AddRange(tok.DecodeStep(i == 0 ? tok.BosId ?? -1 : ids[i - 1], ids[i]).ToArray());
        return [.. spelled];
    }

    private static HashSet<int> BoundarySet(TokenOffsets offsets) => [.. Enumerable.Range(0, offsets.Count).Select(offsets.End)];
}
