using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Models.Tests.Templates;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;

namespace Distillery.Models.Tests.Tokenizers;

/// <summary>
/// Real chat templates rendered by Distillery's Jinja interpreter, byte for byte against @huggingface/jinja's renderings
/// (tests/data/chat-templates/make-renderings.mjs; Python's Jinja2 agrees on all of them, make-constructs.py): Qwen3 and
/// Llama 3.1 read in place from ../shared/data, SmolLM2's and Qwen2.5's as published, and the built-in chatml and plain.
/// </summary>
public sealed class ChatTemplateRenderingTests
{
    private static readonly JsonNode Reference = ChatTemplateData.Json("renderings.json");

    [SharedDataTheory("tokenizers/qwen3/tokenizer_config.json")]
    [InlineData("qwen3")]
    [InlineData("llama-3.1")]
    public async Task A_real_model_folders_template_renders_as_the_reference(string name)
    {
        var info = Reference["templates"]![name]!;
        var folder = Path.GetDirectoryName(SharedTestData.Get(info["path"]!.GetValue<string>()))!;
        var template = await ChatTemplate.LoadAsync(folder);
        Assert.Equal(info["sha256"]!.GetValue<string>(), template.Sha256); // the shared file is the one the renderings were made from
        AssertRendersAsReference(name, template);
    }

    [Theory]
    [InlineData("smollm2")]
    [InlineData("qwen2.5")]
    public void A_published_template_renders_as_the_reference(string name)
    {
        var info = Reference["templates"]![name]!;
        var path = ChatTemplateData.Path(Path.Combine("templates", Path.GetFileName(info["path"]!.GetValue<string>())));
        var template = ChatTemplate.Parse(File.ReadAllText(path), path, info["bos_token"]?.GetValue<string>(), info["eos_token"]?.GetValue<string>());
        Assert.Equal(info["sha256"]!.GetValue<string>(), template.Sha256);
        AssertRendersAsReference(name, template);
    }

    [Theory]
    [InlineData("chatml")]
    [InlineData("plain")]
    public void A_built_in_template_renders_as_the_reference(string name)
    {
        var template = ChatTemplate.BuiltIn(name)!;
        Assert.Equal(Reference["templates"]![name]!["sha256"]!.GetValue<string>(), template.Sha256);
        AssertRendersAsReference(name, template);
    }

    [Fact]
    public void The_reference_covers_every_template_conversation_and_qwen3_thinking_switch()
    {
        var renderings = Reference["renderings"]!.AsArray();
        var conversations = ChatTemplateData.Json("conversations.json").AsObject();
        Assert.Equal(6, Reference["templates"]!.AsObject().Count);
        Assert.Equal(7, conversations.Count);
        Assert.Equal((5 * 7 * 2) + (3 * 7 * 2), renderings.Count);
        var qwen3NoThinking = renderings.Single(r => r!["template"]!.GetValue<string>() == "qwen3" && r["conversation"]!.GetValue<string>() == "user only"
            && r["add_generation_prompt"]!.GetValue<bool>() && r["arguments"]!["enable_thinking"]?.GetValue<bool>() == false)!;
        Assert.EndsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n", qwen3NoThinking["text"]!.GetValue<string>(), System.StringComparison.Ordinal);
    }

    private static void AssertRendersAsReference(string name, ChatTemplate template)
    {
        var conversations = ChatTemplateData.Json("conversations.json").AsObject();
        var cases = Reference["renderings"]!.AsArray().Where(r => r!["template"]!.GetValue<string>() == name).ToList();
        Assert.NotEmpty(cases);
        foreach (var r in cases)
        {
            var messages = conversations[r!["conversation"]!.GetValue<string>()]!.AsArray()
                .Select(m => new ChatMessage(m!["role"]!.GetValue<string>(), m["content"]!.GetValue<string>())).ToList();
            var arguments = r["arguments"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value?.DeepClone());
            var text = template.WithArguments(arguments).Render(messages, r["add_generation_prompt"]!.GetValue<bool>());
            Assert.True(r["text"]!.GetValue<string>() == text,
                $"{name} / {r["conversation"]} / add_generation_prompt={r["add_generation_prompt"]} / {r["arguments"]!.ToJsonString()}:\nexpected {System.Text.Json.JsonSerializer.Serialize(r["text"]!.GetValue<string>())}\nactual   {System.Text.Json.JsonSerializer.Serialize(text)}");
        }
    }
}
