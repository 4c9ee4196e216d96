using System.IO;
using System.Threading.Tasks;
using Distillery.TestSupport.Files;

namespace Distillery.Cli.Tests.Verbs;

/// <summary><c>--device</c> on the verbs that run a model, on this CPU-only machine: bad values and CUDA are one line and exit 2.</summary>
public sealed class DeviceOptionTests
{
    private static string Model => "llama2c:" + SharedTestData.TryGet("stories260K/stories260K.bin");

    public static TheoryData<string, string[]> Verbs() => new()
    {
        { "sample", ["sample", "--model", Model, "--max-tokens", "2"] },
        { "serve", ["serve", "--model", Model, "--port", "0"] },
        { "eval", ["eval", "--model", Model, "--data", "no-such-data.jsonl"] },
        { "train", ["train", "--data", "no-such-data", "--out", Path.Combine(Path.GetTempPath(), "distill-device-never-written")] },
    };

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task Cuda_on_this_cpu_build_is_one_line_and_exit_2(string verb, string[] args)
    {
        var result = await Distill.RunAsync([.. args, "--device", "cuda"]);
        Assert.True(result.ExitCode == 2, $"{verb}: {result.ExitCode} {result.Error}");
        Assert.StartsWith("distill: --device: cuda:0 asked for, but CUDA is not available", result.Error, System.StringComparison.Ordinal);
        Assert.Single(result.Error.Trim().Split('\n'));
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task A_bad_device_is_one_line_and_exit_2(string verb, string[] args)
    {
        var result = await Distill.RunAsync([.. args, "--device", "gpu"]);
        Assert.True(result.ExitCode == 2, $"{verb}: {result.ExitCode} {result.Error}");
        Assert.StartsWith("distill: --device: 'gpu' is not a device", result.Error, System.StringComparison.Ordinal);
        Assert.Single(result.Error.Trim().Split('\n'));
    }

    [Fact]
    public async Task Doctor_says_what_auto_picks()
    {
        var result = await Distill.RunAsync("doctor", "--seconds", "0.05");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("--device auto picks", result.Output, System.StringComparison.Ordinal);
        Assert.Contains("cpu (no CUDA", result.Output, System.StringComparison.Ordinal);
    }
}
