using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Models.Gguf;
using Distillery.Models.Loading;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;

namespace Distillery.Models.Tests.Gguf;

/// <summary>An exported GGUF file carries the model's chat template as <c>tokenizer.chat_template</c>, where llama.cpp reads it, and loads back with it.</summary>
[Collection(Stories260KCollection.Name)]
public sealed class GgufChatTemplateTests(Stories260K stories)
{
    [Fact]
    public async Task Export_writes_tokenizer_chat_template_and_loading_reads_it()
    {
        using var scratch = new ScratchFolder("gguf-template");
        var path = scratch.File("s.gguf");
        var template = ChatTemplate.Parse("{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}", "t.jinja");
        LlamaGguf.Export(stories.Model, stories.Tokenizer, path, GgmlType.F32, "stories260K", template.Source);

        using (var file = GgufFile.Open(path)) Assert.Equal(template.Source, file.Get<string>(LlamaGguf.ChatTemplateKey));
        using var loaded = await ModelLoader.LoadAsync("gguf:" + path);
        Assert.Equal(template.Sha256, loaded.ChatTemplate.Sha256);
        Assert.Equal("<user>Hi\n<assistant>", loaded.ChatTemplate.Apply([ChatMessage.User("Hi")]));
    }

    [Fact]
    public async Task A_gguf_file_without_a_template_is_a_base_model()
    {
        using var scratch = new ScratchFolder("gguf-template");
        var path = scratch.File("s.gguf");
        LlamaGguf.Export(stories.Model, stories.Tokenizer, path);
        using (var file = GgufFile.Open(path)) Assert.False(file.Metadata.ContainsKey(LlamaGguf.ChatTemplateKey));
        using var loaded = await ModelLoader.LoadAsync("gguf:" + path);
        Assert.Same(ChatTemplate.Plain, loaded.ChatTemplate);
    }
}
