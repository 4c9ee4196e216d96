using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;

namespace Distillery.Models.Tests.Tokenizers;

[Collection(Stories260KCollection.Name)]
public sealed class TokenizerTests(Stories260K stories)
{
    private static readonly string[] Texts =
    [
        "Once upon a time",
        "",
        " ",
        "  two leading spaces\nand a newline\n\n",
        "Lily's mom said, \"Don't worry!\"",
        "naïve café — 東京 🙂 emoji",
        "tabs\tand\rreturns",
    ];

    public static IEnumerable<object[]> Samples() => Texts.Select(t => new object[] { t });

    [Theory]
    [MemberData(nameof(Samples))]
    public void Llama2c_encode_equals_run_c_reference_and_round_trips(string text)
    {
        var tok = stories.Tokenizer;
        var ids = tok.Encode(text, addBos: true);
        Assert.Equal(RunCEncode(tok, text), ids);
        // Decoding after BOS drops the dummy-prefix space, giving the text back (run.c's decode rule).
        Assert.Equal(text, tok.Decode(ids));
    }

    [Fact]
    public void Llama2c_encode_equals_run_c_reference_on_real_stories()
    {
        var text = File.ReadAllText(Stories260K.Path("text/tinystories_sample.txt"))[..3000];
        Assert.Equal(RunCEncode(stories.Tokenizer, text), stories.Tokenizer.Encode(text, addBos: true));
    }

    [Fact]
    public void Llama2c_byte_fallback_tokens_carry_their_single_byte()
    {
        var tok = stories.Tokenizer;
        Assert.Equal(new byte[] { 0x0A }, tok.TokenBytes(3 + 0x0A).ToArray());
        Assert.Equal(" Once"u8.ToArray(), tok.TokenBytes(403).ToArray());
        Assert.Empty(tok.DecodeStep(402, 1).ToArray()); // BOS adds no text
        Assert.Equal("Once"u8.ToArray(), tok.DecodeStep(1, 403).ToArray());
    }

    [Fact]
    public void Tiktoken_cl100k_encodes_known_ids_and_token_bytes_rebuild_the_text()
    {
        var tok = TiktokenTextTokenizer.Create("cl100k_base");
        Assert.Equal([15339, 1917], tok.Encode("hello world"));
        foreach (var text in Texts)
        {
            var ids = tok.Encode(text);
            Assert.Equal(text, tok.Decode(ids));
            Assert.Equal(Encoding.UTF8.GetBytes(text), ids.SelectMany(i => tok.TokenBytes(i).ToArray()).ToArray());
        }
        Assert.Contains(100257, tok.StopIds); // <|endoftext|>
    }

    [Fact]
    public void Tiktoken_o200k_round_trips_and_splits_an_emoji_into_byte_tokens()
    {
        var tok = TiktokenTextTokenizer.Create("o200k_base");
        Assert.True(tok.VocabSize >= 200_000);
        foreach (var text in Texts) Assert.Equal(text, tok.Decode(tok.Encode(text)));
        Assert.Equal("tiktoken:o200k_base", tok.Name);
    }

    [Fact]
    public void An_unknown_tiktoken_encoding_is_a_one_line_error()
    {
        var e = Assert.Throws<InputException>(() => TiktokenTextTokenizer.Create("p50k_nope"));
        Assert.Contains("p50k_nope", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_byte_level_tokenizer_json_encodes_with_its_merges_and_round_trips()
    {
        var tok = HfTokenizer.Parse(TinyByteLevelJson());
        var alphabet = HfTokenizer.ByteLevelAlphabet();
        int Id(char c) => alphabet.Values.ToList().IndexOf(c);
        Assert.Equal([258, Id('o'), 259, Id('o'), Id('r'), Id('l'), Id('d')], tok.Encode("hello world"));
        Assert.Equal([258, 260], tok.Encode("hell<|endoftext|>"));
        Assert.Equal(" w"u8.ToArray(), tok.TokenBytes(259).ToArray());
        Assert.Contains(260, tok.StopIds);
        foreach (var text in Texts) Assert.Equal(text, tok.Decode(tok.Encode(text)));

        using var scratch = new ScratchFolder("distillery-tok");
        var dir = scratch.Path;
        await tok.SaveToFolderAsync(dir);
        var again = await TokenizerLoader.LoadAsync(dir);
        Assert.Equal(tok.Encode("hello world"), again.Encode("hello world"));
    }

    [Fact]
    public void A_non_byte_level_tokenizer_json_is_refused_in_one_line()
    {
        var json = """{"model": {"type": "Unigram", "vocab": []}, "pre_tokenizer": {"type": "Metaspace"}}""";
        var e = Assert.Throws<InputException>(() => HfTokenizer.Parse(json, "t/tokenizer.json"));
        Assert.Contains("Unigram", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void ChatML_renders_messages_and_the_generation_prompt()
    {
        var text = ChatTemplate.ChatML.Apply([Core.Chat.ChatMessage.System("Be brief."), Core.Chat.ChatMessage.User("Hi")]);
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", text);
    }

    /// <summary>run.c's encode written out plainly (rescan every pair each round): the independent reference.</summary>
    private static List<int> RunCEncode(Llama2cTokenizer tok, string text)
    {
        var vocab = Enumerable.Range(0, tok.VocabSize).Select(i => Encoding.Latin1.GetString(tok.Piece(i))).ToList();
        var index = new Dictionary<string, int>();
        for (var i = 0; i < vocab.Count; i++) index.TryAdd(vocab[i], i);
        int Lookup(string s) => index.TryGetValue(s, out var id) ? id : -1;
        var tokens = new List<int> { 1 };
        var bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length > 0) tokens.Add(Lookup(" "));
        var buffer = new List<byte>();
        for (var i = 0; i < bytes.Length; i++)
        {
            if ((bytes[i] & 0xC0) != 0x80) buffer.Clear();
            buffer.Add(bytes[i]);
            if (i + 1 < bytes.Length && (bytes[i + 1] & 0xC0) == 0x80 && buffer.Count < 4) continue;
            var id = Lookup(Encoding.Latin1.GetString(buffer.ToArray()));
            if (id != -1) tokens.Add(id);
            else tokens.AddRange(buffer.Select(b => b + 3));
            buffer.Clear();
        }
        while (true)
        {
            float best = -1e10f;
            int bestId = -1, bestIdx = -1;
            for (var i = 0; i < tokens.Count - 1; i++)
            {
                var id = Lookup(vocab[tokens[i]] + vocab[tokens[i + 1]]);
                if (id != -1 && tok.Score(id) > best) (best, bestId, bestIdx) = (tok.Score(id), id, i);
            }
            if (bestIdx == -1) break;
            tokens[bestIdx] = bestId;
            tokens.RemoveAt(bestIdx + 1);
        }
        return tokens;
    }

    private static string TinyByteLevelJson()
    {
        var alphabet = HfTokenizer.ByteLevelAlphabet();
        var vocab = new JsonObject();
        for (var b = 0; b < 256; b++) vocab[alphabet[(byte)b].ToString()] = b;
        vocab["he"] = 256;
        vocab["ll"] = 257;
        vocab["hell"] = 258;
        vocab["Ġw"] = 259;
        return new JsonObject
        {
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray("h e", "l l", "he ll", "Ġ w") },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel" },
            ["added_tokens"] = new JsonArray(new JsonObject { ["id"] = 260, ["content"] = "<|endoftext|>", ["special"] = true }),
        }.ToJsonString();
    }
}
