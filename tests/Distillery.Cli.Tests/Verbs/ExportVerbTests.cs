using System;
using System.IO;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.TestSupport.Files;

namespace Distillery.Cli.Tests.Verbs;

public sealed class ExportVerbTests : IDisposable
{
    private readonly ScratchFolder scratch = new("export-tests");
    private readonly string model = "llama2c:" + SharedTestData.Get("stories260K/stories260K.bin");

    private string dir => scratch.Path;

    public void Dispose() => scratch.Dispose();

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task Gguf_export_is_verified_by_llama_cpp_and_safetensors_loads_back()
    {
        var gguf = Path.Combine(dir, "s.gguf");
        var result = await Distill.RunAsync("export", "--model", model, "--format", "gguf", "--out", gguf, "--dtype", "f16", "--verify");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("greedy tokens identical", result.Output);

        var folder = Path.Combine(dir, "hf");
        result = await Distill.RunAsync("export", "--model", "gguf:" + Path.Combine(dir, "s.gguf"), "--format", "safetensors", "--out", folder);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.True(File.Exists(Path.Combine(folder, "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(folder, "config.json")));
        result = await Distill.RunAsync("sample", "--model", "checkpoint:" + folder, "--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "8");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("Once upon a time", result.Output);
    }

    [Fact]
    public async Task Safetensors_export_of_a_llama2c_model_writes_the_files_transformers_reads_and_loads_back()
    {
        var folder = Path.Combine(dir, "hf-llama2c");
        var result = await Distill.RunAsync("export", "--model", model, "--format", "safetensors", "--out", folder);
        Assert.True(result.ExitCode == 0, result.Error);
        foreach (var file in new[] { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "generation_config.json" })
            Assert.True(File.Exists(Path.Combine(folder, file)), $"{file} is missing");
        Assert.False(File.Exists(Path.Combine(folder, "chat_template.json")));
        var config = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "tokenizer_config.json")))!;
        Assert.Equal("<s>", config["bos_token"]!.GetValue<string>());
        Assert.Equal("</s>", config["eos_token"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(config["chat_template"]!.GetValue<string>()));
        var tokenizer = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "tokenizer.json")))!;
        Assert.Equal("BPE", tokenizer["model"]!["type"]!.GetValue<string>());
        Assert.True(tokenizer["model"]!["byte_fallback"]!.GetValue<bool>());

        result = await Distill.RunAsync("sample", "--model", "checkpoint:" + folder, "--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "8");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("Once upon a time", result.Output);
    }

    [Fact]
    public async Task Best_of_a_report_without_a_best_student_is_a_one_line_error()
    {
        var result = await Distill.RunAsync("export", "--model", "best-of:" + dir, "--format", "gguf", "--out", Path.Combine(dir, "x.gguf"));
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Contains("best_student.json does not exist", result.Error);
    }
}
