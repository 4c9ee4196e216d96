using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Models.Tokenizers;
using Distillery.Tests.Common;

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
        var dir = Directory.CreateTempSubdirectory("spm-save-").FullName;
        try
        {
            await tok.SaveToFolderAsync(dir);
            Assert.Equal(await File.ReadAllBytesAsync(TokenizerData.Committed("spm-bpe-1024/tokenizer.model")), await File.ReadAllBytesAsync(Path.Combine(dir, "tokenizer.model")));
            var loaded = await TokenizerLoader.LoadAsync(dir);
            Assert.IsType<SentencePieceTextTokenizer>(loaded);
            Assert.Equal(tok.Encode("Once upon a time"), loaded.Encode("Once upon a time"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_file_that_is_not_a_sentencepiece_model_is_a_one_line_input_error()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("spm-bad-").FullName, "tokenizer.model");
        await File.WriteAllTextAsync(path, "not a protobuf \u0001\u0002");
        var e = await Assert.ThrowsAsync<InputException>(() => TokenizerLoader.LoadAsync(path));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("tokenizer.model", e.Message);
    }
}
