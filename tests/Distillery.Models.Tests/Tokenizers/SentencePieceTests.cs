using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Tokenizers;

namespace Distillery.Models.Tests.Tokenizers;

/// <summary>The committed 1,024-piece SentencePiece BPE model against Debian's spm_encode (expected-ids.json, made by make-model.sh).</summary>
public sealed class SentencePieceTests
{
    [Fact]
    public async Task Ids_equal_spm_encode_exactly_and_decode_gives_the_text_back()
    {
        var reference = JsonNode.Parse(await File.ReadAllTextAsync(TokenizerData.Committed("spm-bpe-1024/expected-ids.json")))!;
        var texts = reference["texts"]!.AsArray().Select(t => t!.GetValue<string>()).ToArray();
        var tok = await TokenizerData.LoadSpm1024Async();
        Assert.Equal(1024, tok.VocabSize);
        Assert.True(tok.ByteFallback);
        for (var i = 0; i < texts.Length; i++)
        {
            var want = reference["ids"]![i]!.AsArray().Select(id => id!.GetValue<int>()).ToArray();
            var got = tok.Encode(texts[i]).ToArray();
            Assert.True(want.SequenceEqual(got), $"text {i} \"{texts[i]}\":\n  want [{string.Join(", ", want)}]\n  got  [{string.Join(", ", got)}]");
            Assert.Equal(texts[i], tok.Decode(got));
        }
    }

    [Fact]
    public async Task Byte_fallback_pieces_are_one_byte_and_the_dummy_prefix_is_dropped_at_the_start()
    {
        var tok = await TokenizerData.LoadSpm1024Async();
        var ids = tok.Encode("東", addBos: true);
        Assert.Equal(tok.BosId, ids[0]);
        // "▁" (the dummy prefix) then 東's three bytes; the prefix adds nothing at the start of a text.
        var steps = ids.Select((id, i) => tok.DecodeStep(i == 0 ? -1 : ids[i - 1], id).ToArray()).ToArray();
        Assert.Equal(Encoding.UTF8.GetBytes("東"), steps.SelectMany(b => b).ToArray());
        Assert.Equal(3, steps.Count(b => b.Length == 1 && b[0] >= 0x80));
        Assert.Empty(tok.TokenBytes(tok.BosId!.Value).ToArray());
        Assert.True(tok.IsSpecial(tok.BosId!.Value));
        Assert.Contains(2, tok.StopIds); // </s>
    }

    [Fact]
    public async Task Loader_finds_tokenizer_model_in_a_folder_and_save_writes_the_same_file()
    {
        var tok = await TokenizerData.LoadSpm1024Async();
        using var dir = new ScratchFolder("spm-save");
        await tok.SaveToFolderAsync(dir.Path);
        Assert.Equal(await File.ReadAllBytesAsync(TokenizerData.Committed("spm-bpe-1024/tokenizer.model")), await File.ReadAllBytesAsync(dir.File("tokenizer.model")));
        var loaded = await TokenizerLoader.LoadAsync(dir.Path);
        Assert.IsType<SentencePieceTextTokenizer>(loaded);
        Assert.Equal(tok.Encode("Once upon a time"), loaded.Encode("Once upon a time"));
    }

    [Fact]
    public async Task A_file_that_is_not_a_sentencepiece_model_is_a_one_line_input_error()
    {
        using var dir = new ScratchFolder("spm-bad");
        var path = dir.File("tokenizer.model");
        await File.WriteAllTextAsync(path, "not a protobuf \u0001\u0002");
        var e = await Assert.ThrowsAsync<InputException>(() => TokenizerLoader.LoadAsync(path));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("tokenizer.model", e.Message);
    }
}

/// <summary>A SentencePiece model with spm_train's default normaliser (nmt_nfkc, extra whitespace removed): spm-nfkc-400/make-model.sh.</summary>
public sealed class SentencePieceNormalizerTests
{
    private static Task<SentencePieceTextTokenizer> LoadAsync() => SentencePieceTextTokenizer.LoadAsync(TokenizerData.Committed("spm-nfkc-400/tokenizer.model"));

    [Fact]
    public async Task Ids_equal_spm_encode_and_normalize_reports_nfkc_and_collapsed_whitespace()
    {
        var tok = await LoadAsync();
        // spm_encode --output_format=id gives these for both texts (the ligature ﬁ becomes "fi", the double space one).
        Assert.Equal([273, 270, 336, 286, 337, 357, 198, 172], tok.Encode("\uFB01ne  café"));
        Assert.Equal([261, 265], tok.Encode("  a   b  "));
        // Texts of one character after whitespace removal (Microsoft.ML.Tokenizers' own normaliser drops these).
        Assert.Equal([261], tok.Encode(" a "));
        Assert.Equal([261, 352], tok.Encode("  ab"));
        Assert.Equal([285, 302, 339], tok.Encode("hello "));
        Assert.Equal("fine café", tok.Normalize("\uFB01ne  café"));
    }

    [Fact]
    public async Task Offsets_follow_nfkc_and_removed_whitespace_back_to_the_original()
    {
        var tok = await LoadAsync();
        const string text = "\uFB01ne café"; // ﬁ is 3 bytes (EF AC 81); é 2
        var offsets = TokenOffsets.Map(tok, text, tok.Encode(text));
        Assert.Equal(Encoding.UTF8.GetByteCount(text), offsets.End(offsets.Count - 1));
        // ▁f, in, e, ...: "f" and "i" come from one ligature; the token ending inside it covers none of it,
        Assert.Equal((0, 0), (offsets.Start(0), offsets.End(0)));
        Assert.Equal((0, 4), (offsets.Start(1), offsets.End(1))); // "in" ends after the n: the whole ligature and the n

        // Whitespace the normaliser removes goes with a neighbouring token: "▁a" "▁b" over "a   b" and over "  a   b  ".
        Assert.Equal([(0, 1), (1, 5)], Ranges(TokenOffsets.Map(tok, "a   b", tok.Encode("a   b"))));
        Assert.Equal([(0, 3), (3, 9)], Ranges(TokenOffsets.Map(tok, "  a   b  ", tok.Encode("  a   b  "))));
    }

    private static (int, int)[] Ranges(TokenOffsets offsets) => [.. Enumerable.Range(0, offsets.Count).Select(i => (offsets.Start(i), offsets.End(i)))];
}
