using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Tokenizers;

namespace Distillery.Models.Tests.Tokenizers;

/// <summary>
/// The real GPT-4o, Qwen3 and Llama 3.1 tokenizer.json files against transformers.js (npm @lenml/tokenizers), whose ids
/// tests/data/tokenizers/reference/make-reference.mjs wrote once into reference-ids.json.
/// </summary>
// Loads the 130k–200k-piece real tokenizers (seconds each).
[Trait("Speed", "Slow")]
public sealed class RealTokenizerTests
{
    public static TheoryData<string> Names() => [.. TokenizerData.RealNames];

    [SharedDataTheory(TokenizerData.SharedFolder)]
    [MemberData(nameof(Names))]
    public async Task Ids_equal_transformers_js_exactly(string name)
    {
        var reference = JsonNode.Parse(await File.ReadAllTextAsync(TokenizerData.Committed("reference/reference-ids.json")))!;
        var texts = reference["texts"]!.AsArray().Select(t => t!.GetValue<string>()).ToArray();
        var expected = reference["ids"]![name]!.AsArray();
        Assert.Equal(14, texts.Length);
        var tokenizer = await TokenizerData.LoadRealAsync(name);
        for (var i = 0; i < texts.Length; i++)
        {
            var want = expected[i]!.AsArray().Select(id => id!.GetValue<int>()).ToArray();
            var got = tokenizer.Encode(texts[i]).ToArray();
            Assert.True(want.SequenceEqual(got),
                $"{name}, text {i} {JsonValue.Create(texts[i]).ToJsonString()}:\n  want [{string.Join(", ", want)}]\n  got  [{string.Join(", ", got)}]");
        }
    }

    [SharedDataTheory(TokenizerData.SharedFolder)]
    [MemberData(nameof(Names))]
    public async Task Token_bytes_rebuild_each_text_that_no_normaliser_changes(string name)
    {
        var tokenizer = await TokenizerData.LoadRealAsync(name);
        const string text = "  Emoji 🙂👍🏽, 東京, 1234567, naïve\n\n\tend";
        var ids = tokenizer.Encode(text);
        Assert.Equal(Encoding.UTF8.GetBytes(text), ids.SelectMany(id => tokenizer.DecodeStep(-1, id).ToArray()).ToArray());
        Assert.Equal(text, tokenizer.Decode(ids));
    }
}
