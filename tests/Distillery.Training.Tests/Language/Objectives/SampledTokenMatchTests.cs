using System;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Tokenizers;
using Distillery.Training.Language.Objectives;

namespace Distillery.Training.Tests.Language.Objectives;

/// <summary>Matching a teacher's scoring of a sample's text to the student's sampled tokens, on the real tok512 on both sides.</summary>
public sealed class SampledTokenMatchTests
{
    private const string Prompt = "Once upon a time";
    private const string Text = "Once upon a time there was a big dog";

    /// <summary>The teacher's scoring of a text in its own (canonical) tokens, with a distinct logprob per token.</summary>
    private static TeacherTextScore TeacherScore(ITextTokenizer tokenizer, string text)
    {
        var ids = tokenizer.Encode(text, addBos: true);
        var offsets = TokenOffsets.Map(tokenizer, text, ids);
        return new TeacherTextScore([.. Enumerable.Range(0, offsets.Count).Select(i => offsets.End(i) - offsets.Start(i))], [.. Enumerable.Range(0, ids.Count).Select(i => -0.1 * i)]);
    }

    [Fact]
    public async Task EachSampledTokenThatIsTheTeachersTokenGetsItsLogprob()
    {
        var tokenizer = await TokenizerData.LoadTok512Async();
        var prompt = tokenizer.Encode(Prompt, addBos: true);
        var ids = tokenizer.Encode(Text, addBos: true);
        Assert.Equal(prompt, ids.Take(prompt.Count));
        var (text, spelled) = SampledTokenMatch.TextOf(tokenizer, ids);
        Assert.Equal((Text, ids.Count), (text, spelled));

        var scores = SampledTokenMatch.TeacherLogprobs(tokenizer, ids, prompt.Count, text, spelled, TeacherScore(tokenizer, text));
        Assert.Equal(ids.Count - prompt.Count, scores.OneToOne);
        Assert.Equal(0, scores.ChunkedTokens);
        for (var c = 0; c < scores.TeacherLogprobs.Length; c++) Assert.Equal(-0.1 * (prompt.Count + c), scores.TeacherLogprobs[c]!.Value, 12);
    }

    [Fact]
    public async Task ATokenSpelledOtherwiseIsOneChunkScoredAsAWhole()
    {
        var tokenizer = await TokenizerData.LoadTok512Async();
        var prompt = tokenizer.Encode(Prompt, addBos: true);
        var canonical = tokenizer.Encode(Text, addBos: true);
        // The sample spells its longest continuation token byte by byte (byte-fallback pieces), as a student may sample it.
        var at = Enumerable.Range(prompt.Count, canonical.Count - prompt.Count).MaxBy(i => tokenizer.DecodeStep(canonical[i - 1], canonical[i]).Length);
        int[] bytes = [.. tokenizer.DecodeStep(canonical[at - 1], canonical[at]).ToArray().Select(b => ByteToken(tokenizer, b))];
        Assert.True(bytes.Length > 1);
        int[] ids = [.. canonical.Take(at), .. bytes, .. canonical.Skip(at + 1)];
        var (text, spelled) = SampledTokenMatch.TextOf(tokenizer, ids);
        Assert.Equal(Text, text);
        var score = TeacherScore(tokenizer, text);

        var scores = SampledTokenMatch.TeacherLogprobs(tokenizer, ids, prompt.Count, text, spelled, score);
        var first = at - prompt.Count;
        Assert.Equal(bytes.Length, scores.ChunkedTokens);
        Assert.Equal(canonical.Count - prompt.Count - 1, scores.OneToOne);
        Assert.Equal(first, scores.FirstChunked);
        Assert.Equal(score.Logprobs[at], scores.TeacherLogprobs[first]!.Value, 12); // the chunk's total lies on its first token
        for (var c = first + 1; c < first + bytes.Length; c++)
        {
            Assert.Equal(0, scores.TeacherLogprobs[c]!.Value);
            Assert.Equal(first, scores.Chunks[c]);
        }
        Assert.Equal(first + bytes.Length, scores.Chunks[first + bytes.Length]); // the token after the chunk is its own again
    }

    [Fact]
    public async Task TheTextStopsBeforeATrailingStopTokenAndBeforeBytesThatAreNoWholeCharacter()
    {
        var tokenizer = await TokenizerData.LoadTok512Async();
        var canonical = tokenizer.Encode(Text, addBos: true);
        int[] ids = [.. canonical, ByteToken(tokenizer, 0xE2), ByteToken(tokenizer, 0x82), tokenizer.StopIds.First()];
        var (text, spelled) = SampledTokenMatch.TextOf(tokenizer, ids);
        Assert.Equal(Text, text);
        Assert.Equal(canonical.Count, spelled);
        var scores = SampledTokenMatch.TeacherLogprobs(tokenizer, ids, 1, text, spelled, TeacherScore(tokenizer, text));
        Assert.All(scores.TeacherLogprobs[^3..], l => Assert.Null(l));
    }

    /// <summary>The byte-fallback token of one byte (llama2.c's pieces "&lt;0xNN&gt;" come before all others).</summary>
    private static int ByteToken(ITextTokenizer tokenizer, byte value) =>
        Enumerable.Range(0, tokenizer.VocabSize).First(id => !tokenizer.IsSpecial(id) && tokenizer.TokenBytes(id).SequenceEqual([value]));
}
