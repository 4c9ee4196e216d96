using System.IO;
using Distillery.Core.Errors;
using Distillery.Core.Specs;
using Distillery.TestSupport.Files;

namespace Distillery.Core.Tests.Specs;

public sealed class ModelSpecTests
{
    [Theory]
    [InlineData("openai:gpt-4o-mini", ModelKind.OpenAi, "gpt-4o-mini")]
    [InlineData("gguf:/m/x.gguf", ModelKind.Gguf, "/m/x.gguf")]
    [InlineData("checkpoint:out/student", ModelKind.Checkpoint, "out/student")]
    [InlineData("LLAMA2C: a.bin ", ModelKind.Llama2c, "a.bin")]
    public void A_prefixed_spec_names_its_kind_and_target(string text, ModelKind kind, string target)
    {
        var spec = ModelSpec.Parse(text, "--teacher");
        Assert.Equal(kind, spec.Kind);
        Assert.Equal(target, spec.Target);
        Assert.Equal(spec, ModelSpec.Parse(spec.ToString(), "--teacher"));
    }

    [Fact]
    public void A_bare_path_is_taken_by_what_it_is()
    {
        using var dir = new ScratchFolder("spec");
        var bin = dir.File("m.bin");
        File.WriteAllBytes(bin, [0]);
        Assert.Equal(new ModelSpec(ModelKind.Checkpoint, dir.Path), ModelSpec.Parse(dir.Path, "model"));
        Assert.Equal(new ModelSpec(ModelKind.Llama2c, bin), ModelSpec.Parse(bin, "model"));
        Assert.Equal("m", ModelSpec.Parse(bin, "model").Name);
    }

    [Theory]
    [InlineData("openai:")]
    [InlineData("ollama:llama3")]
    [InlineData("/no/such/model.bin")]
    public void A_bad_spec_is_one_input_error_naming_the_field(string text)
    {
        var e = Assert.Throws<InputException>(() => ModelSpec.Parse(text, "--teacher"));
        Assert.StartsWith("--teacher: ", e.Message, System.StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Null(ModelSpec.TryParse(text));
    }
}
