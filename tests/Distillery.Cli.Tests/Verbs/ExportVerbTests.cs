using System;
using System.IO;
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
    public async Task Best_of_a_report_without_a_best_student_is_a_one_line_error()
    {
        var result = await Distill.RunAsync("export", "--model", "best-of:" + dir, "--format", "gguf", "--out", Path.Combine(dir, "x.gguf"));
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Contains("best_student.json does not exist", result.Error);
    }
}
