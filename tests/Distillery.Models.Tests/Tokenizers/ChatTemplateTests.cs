using System;
using System.IO;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;

namespace Distillery.Models.Tests.Tokenizers;

/// <summary>Where a model folder's chat template comes from and goes to, the Hugging Face way, and how its variables are given.</summary>
public sealed class ChatTemplateTests
{
    private const string Bracketed = "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}";

    private static readonly ChatMessage[] Hi = [ChatMessage.User("Hi")];

    [Fact]
    public async Task A_folder_without_a_template_gets_ChatML()
    {
        using var scratch = new ScratchFolder("distillery-chat");
        Assert.Null(await ChatTemplate.TryLoadAsync(scratch.Path));
        Assert.Same(ChatTemplate.ChatML, await ChatTemplate.LoadAsync(scratch.Path));
    }

    [Fact]
    public async Task Tokenizer_config_gives_the_template_and_special_tokens()
    {
        using var scratch = new ScratchFolder("distillery-chat");
        var config = new JsonObject
        {
            ["chat_template"] = "{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}",
            ["bos_token"] = new JsonObject { ["content"] = "<s>", ["lstrip"] = false },
            ["eos_token"] = "</s>",
        };
        await File.WriteAllTextAsync(scratch.File("tokenizer_config.json"), config.ToJsonString());
        var template = await ChatTemplate.LoadAsync(scratch.Path);
        Assert.Equal("<s>", template.BosToken);
        Assert.Equal("</s>", template.EosToken);
        Assert.Equal("<s>Hi</s>", template.Render(Hi));
        Assert.Equal("Hi</s>", template.Apply(Hi)); // the encoder adds BOS itself: one BOS, as transformers' tokenize=True gives
    }

    [Fact]
    public async Task A_list_of_named_templates_uses_the_default_one()
    {
        using var scratch = new ScratchFolder("distillery-chat");
        await File.WriteAllTextAsync(scratch.File("tokenizer_config.json"),
            """{"chat_template": [{"name": "tool_use", "template": "tools"}, {"name": "default", "template": "plain {{ messages[0].content }}"}]}""");
        Assert.Equal("plain Hi", (await ChatTemplate.LoadAsync(scratch.Path)).Render(Hi));
    }

    [Fact]
    public async Task Chat_template_jinja_takes_precedence_over_tokenizer_config()
    {
        using var scratch = new ScratchFolder("distillery-chat");
        await File.WriteAllTextAsync(scratch.File("tokenizer_config.json"), """{"chat_template": "from config", "eos_token": "<e>"}""");
        await File.WriteAllTextAsync(scratch.File("chat_template.jinja"), "from file {{ eos_token }}");
        Assert.Equal("from file <e>", (await ChatTemplate.LoadAsync(scratch.Path)).Render(Hi));
    }

    [Fact]
    public async Task An_old_chat_template_json_still_loads_and_renders_as_before()
    {
        using var scratch = new ScratchFolder("distillery-chat");
        await File.WriteAllTextAsync(scratch.File("chat_template.json"), """{"message": "[{role}] {content} \"{{x}}\"\n", "generation_prompt": "[assistant] "}""");
        var loaded = await ChatTemplate.LoadAsync(scratch.Path);
        Assert.Equal("[system] Be brief. \"{{x}}\"\n[user] Hi \"{{x}}\"\n[assistant] ", loaded.Apply([ChatMessage.System("Be brief."), ChatMessage.User("Hi")]));
        await File.WriteAllTextAsync(scratch.File("chat_template.json"), """{"message": "no placeholder"}""");
        var e = await Assert.ThrowsAsync<InputException>(() => ChatTemplate.LoadAsync(scratch.Path));
        Assert.Contains("{content}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Saving_writes_chat_template_jinja_and_tokenizer_config_and_loads_back()
    {
        using var scratch = new ScratchFolder("distillery-chat");
        await File.WriteAllTextAsync(scratch.File("tokenizer_config.json"), """{"model_max_length": 512, "eos_token": "</s>"}""");
        await File.WriteAllTextAsync(scratch.File("chat_template.json"), """{"message": "{content}"}""");
        var template = ChatTemplate.Parse(Bracketed, "t.jinja", "<s>", "<eos>");
        await template.SaveAsync(scratch.Path);

        Assert.Equal(Bracketed, await File.ReadAllTextAsync(scratch.File("chat_template.jinja")));
        var config = JsonNode.Parse(await File.ReadAllTextAsync(scratch.File("tokenizer_config.json")))!;
        Assert.Equal(Bracketed, config["chat_template"]!.GetValue<string>());
        Assert.Equal(512, config["model_max_length"]!.GetValue<int>()); // merged, not replaced
        Assert.Equal("</s>", config["eos_token"]!.GetValue<string>()); // the tokenizer's own entry stays
        Assert.Equal("<s>", config["bos_token"]!.GetValue<string>());
        Assert.False(File.Exists(scratch.File("chat_template.json")));
        var loaded = await ChatTemplate.LoadAsync(scratch.Path);
        Assert.Equal(template.Sha256, loaded.Sha256);
        Assert.Equal("[user] Hi\n[assistant] ", loaded.Render(Hi));
    }

    [Fact]
    public async Task A_template_with_an_unsupported_construct_names_the_file_construct_and_line()
    {
        using var scratch = new ScratchFolder("distillery-chat");
        var path = scratch.File("bad.jinja");
        await File.WriteAllTextAsync(path, "{% for m in messages %}\n{% include 'header.jinja' %}\n{% endfor %}");
        var e = await Assert.ThrowsAsync<InputException>(() => ChatTemplate.ResolveAsync(path));
        Assert.Equal($"{path}: chat template line 2: unsupported construct '{{% include %}}'", e.Message);
    }

    [Fact]
    public void Raise_exception_while_rendering_is_bad_input_naming_the_line()
    {
        var template = ChatTemplate.Parse("{% if messages[0].role != 'system' %}\n{{ raise_exception('A system message must come first') }}\n{% endif %}", "strict.jinja");
        var e = Assert.Throws<InputException>(() => template.Render(Hi));
        Assert.Equal("strict.jinja: chat template line 2: the template raised an error: A system message must come first", e.Message);
    }

    [Fact]
    public async Task Resolve_takes_built_in_names_files_folders_and_tokenizer_configs()
    {
        using var scratch = new ScratchFolder("distillery-chat");
        Assert.Same(ChatTemplate.Plain, await ChatTemplate.ResolveAsync("plain"));
        var file = scratch.File("t.jinja");
        await File.WriteAllTextAsync(file, Bracketed);
        Assert.Equal("[user] Hi\n", (await ChatTemplate.ResolveAsync(file)).Render(Hi, addGenerationPrompt: false));
        await File.WriteAllTextAsync(scratch.File("tokenizer_config.json"), """{"chat_template": "cfg {{ messages | length }}"}""");
        Assert.Equal("cfg 1", (await ChatTemplate.ResolveAsync(scratch.Path)).Render(Hi));
        Assert.Equal("cfg 1", (await ChatTemplate.ResolveAsync(scratch.File("tokenizer_config.json"))).Render(Hi));
        var missing = await Assert.ThrowsAsync<InputException>(() => ChatTemplate.ResolveAsync("chatml2"));
        Assert.StartsWith("--chat-template: 'chatml2' is neither a built-in template (chatml or plain) nor a file or folder", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Template_arguments_are_json_values_or_text()
    {
        var arguments = ChatTemplate.ParseArguments(["enable_thinking=false", "n=3", "name=Ada Lovelace", "tools=[1, 2]", "empty="]);
        Assert.False(arguments["enable_thinking"]!.GetValue<bool>());
        Assert.Equal(3, arguments["n"]!.GetValue<int>());
        Assert.Equal("Ada Lovelace", arguments["name"]!.GetValue<string>());
        Assert.Equal(2, arguments["tools"]!.AsArray().Count);
        Assert.Equal("", arguments["empty"]!.GetValue<string>());
        var template = ChatTemplate.Parse("{{ 'think' if enable_thinking is not false else 'no' }} {{ n + 1 }} {{ name }} {{ tools | length }}", "t").WithArguments(arguments);
        Assert.Equal("no 4 Ada Lovelace 2", template.Render(Hi));
    }

    [Theory]
    [InlineData("enable_thinking")]
    [InlineData("=false")]
    [InlineData("bad-name=1")]
    [InlineData("messages=[]")]
    public void A_bad_template_argument_names_the_option(string pair)
    {
        var e = Assert.Throws<InputException>(() => ChatTemplate.ParseArguments([pair]));
        Assert.StartsWith("--chat-template-arg: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_choice_keeps_the_models_special_tokens_and_adds_the_arguments()
    {
        var own = ChatTemplate.Parse("{{ bos_token }}own", "own", "<s>", "</s>");
        var chosen = ChatTemplate.Parse("{{ bos_token }}|{{ eos_token }}|{{ x }}", "chosen");
        var choice = new ChatTemplateChoice(chosen, ChatTemplate.ParseArguments(["x=7"]));
        Assert.Equal("<s>|</s>|7", choice.For(own).Render(Hi));
        Assert.Equal("<s>own", ChatTemplateChoice.None.For(own).Render(Hi));
    }
}
