using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Provenance;
using Distillery.Core.Tokens;
using Distillery.Models.Loading;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Tokenizers;
using Distillery.Training.CrossTokenizer;
using Distillery.Training.Language;
using Distillery.Training.Language.Configuration;
using Distillery.Training.Language.Data;
using Xunit.Abstractions;

namespace Distillery.Training.Tests.Language;

/// <summary>
/// A student whose tokenizer is the committed 1,024-piece SentencePiece model learns from the stories260K teacher (tok512):
/// from the dataset's stored top-k logprobs and from the local teacher's full logits, end to end.
/// </summary>
[Collection(SerialTorchCollection.Name)]
[Trait("Speed", "Slow")]
public sealed class CrossTokenizerTrainingTests(StoriesDatasetFixture fixture, ITestOutputHelper output) : IClassFixture<StoriesDatasetFixture>
{
    private static string SpmPath => TokenizerData.Committed("spm-bpe-1024/tokenizer.model");

    private LmTrainingConfig Config(string name, LmMode mode, CrossTokenizerMethod? method) => new()
    {
        Data = fixture.Dataset,
        Out = Path.Combine(fixture.Root, name),
        Mode = mode,
        Teacher = mode == LmMode.Whitebox ? StoriesData.TeacherSpec : null,
        Tokenizer = SpmPath,
        ChatTemplate = "plain",
        StudentPreset = "tiny",
        CrossTokenizer = method,
        Steps = 25,
        BatchSize = 4,
        LearningRate = 1e-2,
        MinLearningRate = 1e-3,
        Warmup = 2,
        SeqLen = 48,
        EvalFraction = 0.2,
        EvalEvery = 25,
        CheckpointEvery = 0,
        Seed = 11,
    };

    private static double[] Losses(string dir) => File.ReadAllLines(Path.Combine(dir, "metrics.jsonl"))
        .Select(l => JsonNode.Parse(l)!["loss"]).Where(n => n is not null).Select(n => n!.GetValue<double>()).ToArray();

    [Theory]
    [InlineData(LmMode.Topk, null, "topk-chunk-starts")]
    [InlineData(LmMode.Topk, CrossTokenizerMethod.Alm, "alm")]
    [InlineData(LmMode.Topk, CrossTokenizerMethod.AlmAndTopk, "alm-and-topk")]
    [InlineData(LmMode.Whitebox, null, "topk-chunk-starts")]
    [InlineData(LmMode.Whitebox, CrossTokenizerMethod.Uld, "uld")]
    [InlineData(LmMode.Whitebox, CrossTokenizerMethod.Hybrid, "hybrid")]
    public async Task A_student_with_another_tokenizer_learns_from_the_teacher_and_records_how(LmMode mode, CrossTokenizerMethod? method, string expected)
    {
        var config = Config($"cross-{mode}-{expected}", mode, method);
        var report = await LmTraining.RunAsync(config);
        var losses = Losses(config.Out);
        output.WriteLine($"{mode} {expected}: first loss {losses[0]:F4}, last five {losses[^5..].Average():F4}, held-out CE {report.EvalCrossEntropy:F4}");
        Assert.Equal(25, losses.Length);
        Assert.True(losses[^5..].Average() < 0.8 * losses[0], $"loss went {losses[0]} → {losses[^5..].Average()}");
        Assert.True(report.EvalCrossEntropy < Math.Log(1024) - 1.0, $"held-out CE {report.EvalCrossEntropy}");
        Assert.Null(report.EvalKlToTeacher); // no per-token KL across vocabularies

        using var student = await ModelLoader.LoadAsync("checkpoint:" + config.Out);
        Assert.Equal(1024, student.Tokenizer.VocabSize);
        Assert.False(string.IsNullOrEmpty(student.Generate("Once", new SamplingParameters { Temperature = 0, MaxTokens = 8 }).Text));
        var lineage = (await LineageFile.ReadAsync(config.Out))!;
        var cross = lineage.CrossTokenizer;
        Assert.NotNull(cross);
        output.WriteLine($"chunks {cross.Chunks}, one-to-one {cross.OneToOneShare:P1}, teacher tokens {cross.TeacherTokenShare:P1}, top-k mass {cross.TopKMassShare:P1}");
        Assert.Equal(expected, cross.Method);
        Assert.StartsWith("cross-tokenizer", lineage.Losses);
        Assert.True(cross.Chunks > 0);
        Assert.InRange(cross.OneToOneShare, 0.05, 1.0);
        if (mode == LmMode.Topk)
        {
            Assert.Equal("stored tokens", cross.TeacherTokenizer);
            // prefix groups (the default) place every alternative that begins some student token: nearly all of the mass.
            Assert.InRange(cross.TopKMassShare!.Value, expected == "alm" ? 0 : 0.9, expected == "alm" ? 0 : 1.0);
            Assert.InRange(cross.TeacherTokenShare, expected == "topk-chunk-starts" ? 0.1 : 0.9, 1.0);
        }
        else
        {
            Assert.Null(cross.TopKMassShare);
            Assert.StartsWith("llama2c", cross.TeacherTokenizer, StringComparison.OrdinalIgnoreCase);
        }
    }

    private static DatasetRow Row(string completion, TokenLogprob[] tokens) => new(
        [ChatMessage.User("hi"), ChatMessage.Assistant(completion)],
        new RowProvenance
        {
            PromptId = "p0",
            Teacher = new RowTeacher { Provider = "openai", Model = "m", RequestedModel = "m", Endpoint = "http://x", Sampling = new SamplingParameters() },
            FinishReason = "stop",
            Tokens = tokens,
            RequestHash = "h",
        });

    private static TokenLogprob Token(string text, double logprob, params (string Text, double Logprob)[] alternatives) =>
        new(text, [.. Encoding.UTF8.GetBytes(text).Select(b => (int)b)], logprob,
            [.. alternatives.Select(a => new TopLogprob(a.Text, [.. Encoding.UTF8.GetBytes(a.Text).Select(b => (int)b)], a.Logprob))]);

    [Fact]
    public async Task Stored_teacher_tokens_align_with_the_students_tokens_over_the_whole_completion()
    {
        var spm = await TokenizerData.LoadSpm1024Async();
        const string text = "Once upon a time";
        // A teacher that split the text its own way: "On", "ce", " upon", " a", " time".
        var tokens = new[] { Token("On", -0.1, ("On", -0.1), ("One", -2.5)), Token("ce", -0.2), Token(" upon", -0.3), Token(" a", -0.05), Token(" time", -0.4) };
        var set = CrossTokenizerExampleBuilder.FromStoredTokens([Row(text, tokens)], spm, ChatTemplate.Plain, maxLength: 64);
        var e = set.Examples.Single();
        var chunks = e.Cross!.Chunks;
        // The chunks cover every teacher token and every student completion token, in order, in shifted coordinates.
        Assert.Equal(0, chunks[0].TeacherStart);
        Assert.Equal(tokens.Length, chunks[^1].TeacherEnd);
        Assert.Equal(e.PromptLength - 1, chunks[0].StudentStart);
        Assert.Equal(e.Ids.Length - 1 - (spm.StopIds.Count > 0 ? 1 : 0), chunks[^1].StudentEnd);
        for (var c = 1; c < chunks.Count; c++)
        {
            Assert.Equal(chunks[c - 1].TeacherEnd, chunks[c].TeacherStart);
            Assert.Equal(chunks[c - 1].StudentEnd, chunks[c].StudentStart);
            Assert.Equal(chunks[c - 1].ByteEnd, chunks[c].ByteStart);
        }
        Assert.Equal(Encoding.UTF8.GetByteCount(text), chunks[^1].ByteEnd);
        // Each chunk's student tokens spell the chunk's bytes.
        foreach (var chunk in chunks)
        {
            var spelled = string.Concat(Enumerable.Range(chunk.StudentStart + 1, chunk.StudentEnd - chunk.StudentStart).Select(i => spm.Decode([e.Ids[i]], i == e.PromptLength ? -1 : e.Ids[i - 1])));
            Assert.Equal(text.Substring(chunk.ByteStart, chunk.ByteEnd - chunk.ByteStart), spelled.TrimStart(chunk.ByteStart == 0 ? ' ' : '\0'));
        }
    }

    [Fact]
    public async Task A_row_without_stored_tokens_or_whose_tokens_do_not_spell_the_text_is_a_one_line_error()
    {
        var spm = await TokenizerData.LoadSpm1024Async();
        var missing = Assert.Throws<InputException>(() => CrossTokenizerExampleBuilder.FromStoredTokens([Row("Once", [])], spm, ChatTemplate.Plain, 64, "d/data.jsonl"));
        Assert.Single(missing.Message.Split('\n'));
        Assert.StartsWith("d/data.jsonl:1:", missing.Message);
        Assert.Contains("no stored token logprobs", missing.Message);

        var wrong = Assert.Throws<InputException>(() => CrossTokenizerExampleBuilder.FromStoredTokens([Row("Once", [Token("Twice", -1)])], spm, ChatTemplate.Plain, 64, "d/data.jsonl"));
        Assert.Single(wrong.Message.Split('\n'));
        Assert.Contains("do not spell", wrong.Message);
    }

    [Fact]
    public async Task Byte_tokens_that_form_no_character_align_with_the_replacement_character_the_text_holds()
    {
        // A teacher that sampled a lone lead byte (a character cut off, or a weak model's byte fallback): the row's text
        // holds U+FFFD where the stored token holds the raw byte 0xE2.
        var spm = await TokenizerData.LoadSpm1024Async();
        static TokenLogprob Raw(byte[] bytes, double logprob) => new(Encoding.UTF8.GetString(bytes), [.. bytes.Select(b => (int)b)], logprob, []);
        var tokens = new[] { Token("Once", -0.1), Raw([0xE2], -3.0), Token(" upon", -0.2) };
        var set = CrossTokenizerExampleBuilder.FromStoredTokens([Row("Once\uFFFD upon", tokens)], spm, ChatTemplate.Plain, maxLength: 64);
        var chunks = set.Examples.Single().Cross!.Chunks;
        Assert.Equal(tokens.Length, chunks[^1].TeacherEnd);
        Assert.Equal(Encoding.UTF8.GetByteCount("Once\uFFFD upon"), chunks[^1].ByteEnd);
        // The byte token stands for the three bytes of U+FFFD: some chunk holds it and begins at byte 4 or before.
        var replaced = chunks.Single(c => c.TeacherStart <= 1 && c.TeacherEnd > 1);
        Assert.True(replaced.ByteStart <= 4 && replaced.ByteEnd >= 7, $"chunk {replaced.ByteStart}–{replaced.ByteEnd}");
    }

    [Fact]
    public void A_student_tokenizer_that_cannot_encode_the_text_is_a_one_line_error_naming_the_row()
    {
        var letters = TokenizerData.LettersOnly();
        var row = Row("abc 123", [Token("abc", -0.1), Token(" 123", -0.2)]);
        var e = Assert.Throws<InputException>(() => CrossTokenizerExampleBuilder.FromStoredTokens([Row("abc", [Token("abc", -0.1)]), row], letters, ChatTemplate.Plain, 64, "d/data.jsonl"));
        Assert.Single(e.Message.Split('\n'));
        Assert.StartsWith("d/data.jsonl:2:", e.Message);
        Assert.Contains("cannot encode", e.Message);
    }

    [Fact]
    public async Task Stored_tokens_of_the_students_own_tokenizer_keep_the_same_vocabulary_path()
    {
        var rows = await DatasetReader.ReadAllRowsAsync(fixture.Dataset);
        var tok512 = await TokenizerLoader.LoadAsync(StoriesData.TokenizerPath);
        Assert.True(LmExampleBuilder.StoredTokensFit(rows, tok512, ChatTemplate.Plain));
        Assert.False(LmExampleBuilder.StoredTokensFit(rows, await TokenizerData.LoadSpm1024Async(), ChatTemplate.Plain));
    }
}
