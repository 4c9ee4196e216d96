using System;
using System.IO;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Provenance;
using Distillery.Models.Loading;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;

namespace Distillery.Models.Tests.Loading;

public sealed class LoaderTests : IDisposable
{
    private readonly ScratchFolder scratch = new("distillery-loader");

    private string dir => scratch.Path;

    public void Dispose() => scratch.Dispose();

    [Fact]
    public async Task A_llama2c_spec_finds_its_tokenizer_and_a_saved_checkpoint_folder_generates_the_same_text()
    {
        using var bundle = await ModelLoader.LoadAsync("llama2c:" + Stories260K.Path("stories260K/stories260K.bin"));
        Assert.IsType<Llama2cTokenizer>(bundle.Tokenizer);
        var greedy = new SamplingParameters { Temperature = 0, MaxTokens = 20 };
        var text = bundle.Generate("Once upon a time", greedy).Text;

        var folder = Path.Combine(dir, "student");
        await bundle.SaveAsync(folder, new Lineage { Student = new LineageStudent(bundle.Spec, bundle.Model.ParameterCount, bundle.Tokenizer.Name) });
        Assert.True(File.Exists(Path.Combine(folder, "config.json")));
        Assert.True(File.Exists(Path.Combine(folder, "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(folder, "tokenizer.bin")));
        Assert.Contains("stories260K.bin", await File.ReadAllTextAsync(Path.Combine(folder, "distillery.json")), StringComparison.Ordinal);

        using var again = await ModelLoader.LoadAsync("checkpoint:" + folder);
        Assert.Equal(text, again.Generate("Once upon a time", greedy).Text);
        Assert.Equal(bundle.Score("Once upon a time")[2].Logprob, again.Score("Once upon a time")[2].Logprob);
    }

    [Fact]
    public async Task A_random_model_with_a_tiktoken_tokenizer_saves_and_loads_with_its_tokenizer()
    {
        var tok = TiktokenTextTokenizer.Create("cl100k_base");
        var config = TinyConfigs.Gqa() with { VocabSize = tok.VocabSize };
        using var bundle = ModelBundle.CreateRandom(config, seed: 3, tok);
        await bundle.SaveAsync(dir);
        using var loaded = await ModelLoader.LoadAsync("checkpoint:" + dir);
        Assert.Equal("tiktoken:cl100k_base", loaded.Tokenizer.Name);
        var p = new SamplingParameters { Temperature = 0, MaxTokens = 5 };
        Assert.Equal(bundle.GenerateChat([ChatMessage.User("hi")], p).TokenIds, loaded.GenerateChat([ChatMessage.User("hi")], p).TokenIds);
    }

    [Theory]
    [InlineData("gguf:/nowhere/model.gguf", "model")]
    [InlineData("llama2c:/nowhere/model.bin", "/nowhere/model.bin")]
    [InlineData("checkpoint:/nowhere", "/nowhere")]
    public async Task A_bad_spec_is_a_one_line_error_naming_what_is_wrong(string spec, string named)
    {
        var e = await Assert.ThrowsAsync<InputException>(() => ModelLoader.LoadAsync(spec));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task A_llama2c_model_without_a_tokenizer_beside_it_asks_for_one()
    {
        var copy = Path.Combine(dir, "m.bin");
        File.Copy(Stories260K.Path("stories260K/stories260K.bin"), copy);
        var e = await Assert.ThrowsAsync<InputException>(() => ModelLoader.LoadAsync("llama2c:" + copy));
        Assert.Contains("--tokenizer", e.Message, StringComparison.Ordinal);
        using var given = await ModelLoader.LoadAsync("llama2c:" + copy, Stories260K.Path("stories260K/tok512.bin"));
        Assert.Equal(512, given.Tokenizer.VocabSize);
    }
}
