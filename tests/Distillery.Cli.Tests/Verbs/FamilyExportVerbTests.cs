using System;
using System.IO;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Models.Checkpoints;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Models;

namespace Distillery.Cli.Tests.Verbs;

/// <summary><c>distill export</c> of real-family model folders: GGUF in f32, f16 and q8_0 checked by llama.cpp, and bad folders refused.</summary>
public sealed class FamilyExportVerbTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly ScratchFolder scratch = new("family-export");

    public void Dispose() => scratch.Dispose();

    [Trait("Speed", "Slow")]
    [Theory]
    [InlineData("qwen3")]
    [InlineData("llama-3.2")]
    public async Task A_family_folder_exports_to_gguf_that_llama_cpp_verifies_in_f32_f16_and_q8_0(string family)
    {
        var (config, tokenizer) = await RealFamilies.LoadAsync(family);
        var folder = scratch.File(family);
        using (var model = RealFamilies.CreateRandom(config))
            await CheckpointFolder.SaveAsync(folder, model, tokenizer, dtype: TorchSharp.torch.ScalarType.BFloat16);
        foreach (var dtype in new[] { "f32", "f16", "q8_0" })
        {
            var gguf = scratch.File($"{family}-{dtype}.gguf");
            var result = await Distill.RunAsync("export", "--model", "checkpoint:" + folder, "--format", "gguf", "--dtype", dtype, "--out", gguf, "--verify");
            output.WriteLine(result.Output);
            Assert.True(result.ExitCode == 0, result.Error);
            Assert.Contains(dtype == "q8_0" ? "largest |Δlogit| against f32" : "greedy tokens identical to Distillery's (32/32", result.Output.ReplaceLineEndings(" "));
        }
    }

    [Fact]
    public async Task An_unknown_model_type_is_a_one_line_error_with_exit_2()
    {
        var folder = scratch.File("neox");
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "config.json"), """
            {"model_type": "gpt_neox", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 512}
            """);
        var result = await Distill.RunAsync("sample", "--model", "checkpoint:" + folder, "--prompt", "hi");
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        var line = result.Error.Trim();
        Assert.DoesNotContain('\n', line);
        Assert.Contains("config.json: model_type: 'gpt_neox' is not supported; supported: llama, mistral, qwen2, qwen3", line);
    }
}
