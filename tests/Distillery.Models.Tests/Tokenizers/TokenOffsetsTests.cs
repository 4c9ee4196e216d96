using System;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Tokenizers;

namespace Distillery.Models.Tests.Tokenizers;

// Loads the 130k–200k-piece real tokenizers (seconds each).
[Trait("Speed", "Slow")]
public sealed class TokenOffsetsTests
{
    [SharedDataFact(TokenizerData.Tok512)]
    public async Task Llama2c_bos_covers_nothing_and_the_dummy_prefix_space_is_not_in_the_text()
    {
        var tok = await TokenizerData.LoadTok512Async();
        foreach (var addBos in new[] { true, false })
        {
            var ids = tok.Encode("Once upon", addBos);
            var offsets = TokenOffsets.Map(tok, "Once upon", ids);
            // tok512 spells "Once upon" as " Once" + " upon" after the dummy prefix; the first covers "Once" (bytes 0–4).
            Assert.Equal(addBos ? [(0, 0), (0, 4), (4, 9)] : [(0, 4), (4, 9)], Ranges(offsets));
        }
    }

    [SharedDataFact(TokenizerData.Tok512)]
    public async Task Byte_fallback_tokens_split_one_character_into_its_bytes()
    {
        var tok = await TokenizerData.LoadTok512Async();
        const string text = "a東";
        var ids = tok.Encode(text, addBos: true);
        var offsets = TokenOffsets.Map(tok, text, ids);
        // BOS, " a", then the three UTF-8 bytes of 東 (E6 9D B1) as byte-fallback tokens, one byte each.
        Assert.Equal([(0, 0), (0, 1), (1, 2), (2, 3), (3, 4)], Ranges(offsets));
    }

    [SharedDataFact(TokenizerData.SharedFolder)]
    public async Task Special_tokens_cover_their_text_where_it_is_written_and_nothing_where_added()
    {
        var tok = await TokenizerData.LoadRealAsync("llama-3.1");
        const string text = "<|eot_id|>hi";
        var ids = tok.Encode(text, addBos: true);
        Assert.Equal(tok.BosId, ids[0]);
        Assert.Equal([(0, 0), (0, 10), (10, 12)], Ranges(TokenOffsets.Map(tok, text, ids)));
    }

    [SharedDataFact(TokenizerData.SharedFolder)]
    public async Task Qwen3_nfc_maps_a_composed_token_back_onto_the_decomposed_original()
    {
        var tok = await TokenizerData.LoadRealAsync("qwen3");
        const string text = "Cafe\u0301 ok"; // "e" + combining acute: 4 + 3 bytes before the space
        var ids = tok.Encode(text);
        var offsets = TokenOffsets.Map(tok, text, ids);
        Assert.Equal(Encoding.UTF8.GetByteCount(text), offsets.TextBytes);
        AssertContiguous(offsets);
        // The token that spells "é" (C3 A9) owns the original's "e" + U+0301 (65 CC 81); no token ends inside it.
        Assert.DoesNotContain(Enumerable.Range(0, offsets.Count), i => offsets.End(i) is 4 or 5);
        Assert.Contains(Enumerable.Range(0, offsets.Count), i => offsets.End(i) == 6);
        var spelled = string.Concat(Enumerable.Range(0, ids.Count).Select(i => Encoding.UTF8.GetString(tok.DecodeStep(i == 0 ? -1 : ids[i - 1], ids[i]))));
        Assert.Equal("Café ok", spelled);
    }

    [SharedDataFact(TokenizerData.SharedFolder)]
    public async Task Every_tokenizer_maps_real_text_onto_its_bytes_exactly()
    {
        var text = TokenizerData.MixedText;
        var original = Encoding.UTF8.GetBytes(text);
        foreach (var tok in await TokenizerData.AllAsync())
        {
            var ids = tok.Encode(text, addBos: true);
            var offsets = TokenOffsets.Map(tok, text, ids);
            Assert.Equal(ids.Count, offsets.Count);
            AssertContiguous(offsets);
            Assert.Equal(original.Length, offsets.End(offsets.Count - 1));
            // The text is NFC already, so each token's bytes are the original's bytes it covers (the dummy prefix aside).
            var previous = tok.BosId ?? -1;
            for (var i = 0; i < ids.Count; i++)
            {
                var covered = original.AsSpan(offsets.Start(i), offsets.End(i) - offsets.Start(i)).ToArray();
                var bytes = tok.IsSpecial(ids[i]) ? [] : tok.DecodeStep(previous, ids[i]).ToArray();
                Assert.True(covered.SequenceEqual(bytes), $"{tok.Name} token {i} (id {ids[i]}) covers [{offsets.Start(i)}, {offsets.End(i)})");
                previous = ids[i];
            }
        }
    }

    [Fact]
    public void A_tokenizer_that_cannot_encode_the_text_is_a_one_line_input_error()
    {
        var tok = TokenizerData.LettersOnly();
        const string text = "abc 123";
        var e = Assert.Throws<InputException>(() => TokenOffsets.Map(tok, text, tok.Encode(text)));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("cannot encode", e.Message);
        Assert.Contains("byte 3", e.Message);
    }

    [Fact]
    public void From_lengths_refuses_lengths_that_do_not_cover_the_text()
    {
        Assert.Equal([(0, 2), (2, 2), (2, 5)], Ranges(TokenOffsets.FromLengths([2, 0, 3], 5)));
        Assert.Throws<ArgumentException>(() => TokenOffsets.FromLengths([2, 2], 5));
    }

    [Fact]
    public void Token_bytes_that_decode_with_replacement_map_onto_the_text_dotnet_decoding_gives()
    {
        // The reference: .NET's own UTF-8 decoder, with U+FFFD for each invalid sequence, over random byte strings that mix
        // ASCII, whole and cut-off multi-byte characters, and stray bytes.
        var random = new Random(17);
        byte[][] pieces = [[0x41], [0x20], [0xC3, 0xA9], [0xE2, 0x80, 0x99], [0xF0, 0x9F, 0x98, 0x80], [0xE2], [0xE2, 0x80], [0x80], [0xFF], [0xC3]];
        for (var trial = 0; trial < 500; trial++)
        {
            var raw = Enumerable.Range(0, random.Next(0, 12)).SelectMany(_ => pieces[random.Next(pieces.Length)]).ToArray();
            var text = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(raw));
            var positions = Utf8Replacement.TextPositions(raw, text);
            Assert.NotNull(positions);
            Assert.Equal(0, positions[0]);
            Assert.Equal(text.Length, positions[^1]);
            for (var i = 1; i < positions.Length; i++) Assert.True(positions[i - 1] <= positions[i]);
            // Cut anywhere: the bytes before a position decode to at most the text before its image.
            var cut = random.Next(raw.Length + 1);
            Assert.True(Encoding.UTF8.GetString(raw[..cut]).TrimEnd('\uFFFD').Length <= Encoding.UTF8.GetString(text[..positions[cut]]).Length);
        }
        Assert.Null(Utf8Replacement.TextPositions([0xE2], "x"u8));
    }

    [Fact]
    public void A_cut_off_character_goes_whole_to_the_token_that_spells_its_last_byte()
    {
        // "’" split over two byte tokens, then a lone lead byte the text shows as U+FFFD.
        byte[] spelled = [0xE2, 0x80, 0x99, 0xE2];
        var text = Encoding.UTF8.GetBytes("\u2019\uFFFD");
        Assert.Equal([(0, 3), (3, 3), (3, 6)], Ranges(TokenOffsets.FromTokenBytes([2, 1, 1], spelled, text)!));
        Assert.Equal([(0, 3)], Ranges(TokenOffsets.FromTokenBytes([3], "abc"u8, "abc"u8)!));
        Assert.Null(TokenOffsets.FromTokenBytes([3], "abd"u8, "abc"u8));
    }

    private static (int, int)[] Ranges(TokenOffsets offsets) => [.. Enumerable.Range(0, offsets.Count).Select(i => (offsets.Start(i), offsets.End(i)))];

    private static void AssertContiguous(TokenOffsets offsets)
    {
        for (var i = 0; i < offsets.Count; i++)
        {
            Assert.True(offsets.Start(i) <= offsets.End(i));
            if (i > 0) Assert.Equal(offsets.End(i - 1), offsets.Start(i));
        }
    }
}
