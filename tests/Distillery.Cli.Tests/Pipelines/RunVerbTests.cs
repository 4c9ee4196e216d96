using System;
using System.IO;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.TestSupport.Files;

namespace Distillery.Cli.Tests.Pipelines;

public sealed class RunVerbTests : IDisposable
{
    private readonly ScratchFolder scratch = new("pipeline-tests");

    private string _dir => scratch.Path;

    public void Dispose() => scratch.Dispose();

    private string Write(string json)
    {
        var path = Path.Combine(_dir, "pipeline.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task Steps_run_in_order_with_a_background_server_and_variables()
    {
        Assert.NotNull(SharedTestData.TryFind());
        var path = Write("""
        {
          "name": "test",
          "variables": { "model": "llama2c:{shared}/stories260K/stories260K.bin", "out": "{pipeline_dir}/out" },
          "steps": [
            { "name": "serve", "run": ["serve", "--model", "{model}", "--port", "{port}"], "background": true, "ready_url": "http://127.0.0.1:{port}/health" },
            { "name": "export", "run": ["export", "--model", "{model}", "--format", "gguf", "--out", "{out}/m.gguf"] },
            { "name": "skipped", "run": ["doctor"], "when": "{run_doctor}" },
            { "name": "eval", "run": ["eval", "--model", "gguf:{out}/m.gguf", "--teacher", "{model}", "--data", "{shared}/text/tinystories_sample.txt", "--limit", "2"] }
          ],
          "//": "run_doctor is given on the command line"
        }
        """);
        var result = await Distill.RunAsync("run", path, "--set", "run_doctor=false");
        Assert.True(result.ExitCode == 0, result.Error + result.Output);
        Assert.True(File.Exists(Path.Combine(_dir, "out", "m.gguf")));
        Assert.Contains("Serving", result.Output);
        Assert.Contains("skipped", result.Output);
        Assert.Matches(@"m\s+260\.0K", result.Output); // the exported model was evaluated
        Assert.DoesNotContain("fp32 matmul", result.Output); // doctor did not run
    }

    [Fact]
    public async Task Unknown_variable_fails_before_any_step_runs()
    {
        var path = Write("""{ "steps": [ { "name": "a", "run": ["export", "--out", "{pipeline_dir}/x.gguf", "--model", "{nope}", "--format", "gguf"] } ] }""");
        var result = await Distill.RunAsync("run", path);
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Contains("steps[0] 'a' run[4]: uses the variable '{nope}', which is not defined", result.Error);
        Assert.False(File.Exists(Path.Combine(_dir, "x.gguf")));
    }

    [Fact]
    public async Task A_failing_step_stops_the_pipeline_with_its_exit_code()
    {
        var path = Write("""{ "steps": [ { "name": "bad", "run": ["export", "--model", "llama2c:/no/such.bin", "--format", "gguf", "--out", "x.gguf"] }, { "name": "never", "run": ["doctor"] } ] }""");
        var result = await Distill.RunAsync("run", path);
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Contains("step 1 'bad' exited with 2", result.Error);
        Assert.DoesNotContain("fp32 matmul", result.Output);
    }
}
