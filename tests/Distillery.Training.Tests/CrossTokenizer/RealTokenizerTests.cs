using System;
using System.Linq;
using System.Text;
using Distillery.Models.Tokenizers;
using Distillery.Training.CrossTokenizer;
using static Distillery.Training.Tests.Losses.LossTestHelpers;

namespace Distillery.Training.Tests.CrossTokenizer;

/// <summary>The vocabulary map and the spelling of alternatives between two real tokenizers, o200k (GPT-4o) and cl100k (GPT-4).</summary>
public sealed class RealTokenizerTests
{
    private static readonly TiktokenTextTokenizer O200k = TiktokenTextTokenizer.Create("o200k_base");
    private static readonly TiktokenTextTokenizer Cl100k = TiktokenTextTokenizer.Create("cl100k_base");

    public RealTokenizerTests() => EnsureTorch();

    [Fact]
    public void SharedTokensSpellTheSameBytesAndAreOneToOne()
    {
        var map = VocabularyMap.Between(O200k, Cl100k);
        var teacherIds = map.TeacherIds.data<long>().ToArray();
        var studentIds = map.StudentIds.data<long>().ToArray();
        Assert.True(map.Count > 30_000, $"only {map.Count} shared tokens");
        Assert.Equal(map.Count, studentIds.Distinct().Count());
        for (var i = 0; i < teacherIds.Length; i++)
            Assert.True(O200k.TokenBytes((int)teacherIds[i]).SequenceEqual(Cl100k.TokenBytes((int)studentIds[i])), $"pair {teacherIds[i]} → {studentIds[i]}");
        var the = O200k.Encode(" the").Single();
        Assert.Equal(Cl100k.Encode(" the").Single(), map.StudentOf(the));
        Assert.All(O200k.StopIds, id => Assert.Equal(-1, map.StudentOf(id)));
    }

    [Fact]
    public void AnAlternativeMapsToTheStudentsWholeTokenOrTheFirstOfItsExactSplit()
    {
        int[] Bytes(string s) => [.. Encoding.UTF8.GetBytes(s).Select(b => (int)b)];
        var whole = StudentSpelling.Of(Cl100k);
        var first = StudentSpelling.Of(Cl100k, AlternativeMatch.FirstToken);
        Assert.Equal(Cl100k.Encode(" the").Single(), whole.FirstToken(Bytes(" the")));

        // An o200k token that cl100k splits: the first token of the split, and only under FirstToken.
        var split = Enumerable.Range(1000, 20_000).Select(id => O200k.TokenBytes(id).ToArray())
            .Where(b => b.Length >= 6 && b.All(x => x is >= (byte)'a' and <= (byte)'z'))
            .Select(b => Encoding.UTF8.GetString(b))
            .First(s => Cl100k.Encode(s).Count > 1);
        Assert.Equal(-1, whole.FirstToken(Bytes(split)));
        Assert.Equal(Cl100k.Encode(split)[0], first.FirstToken(Bytes(split)));
        // Every identical-vocabulary alternative maps to itself.
        var self = StudentSpelling.Of(O200k);
        foreach (var id in Enumerable.Range(0, 5000))
            Assert.Equal(id, self.FirstToken([.. O200k.TokenBytes(id).ToArray().Select(b => (int)b)]));
    }
}
