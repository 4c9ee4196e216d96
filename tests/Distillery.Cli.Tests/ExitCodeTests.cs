using System.Threading.Tasks;
using Distillery.Core.Errors;

namespace Distillery.Cli.Tests;

public sealed class ExitCodeTests
{
    [Theory]
    [InlineData("--no-such-option")]
    [InlineData("no-such-verb")]
    [InlineData("doctor", "--seconds", "not-a-number")]
    public async Task Bad_command_line_exits_2_with_one_line(params string[] args)
    {
        var result = await Distill.RunAsync(args);
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        var lines = result.Error.TrimEnd().Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("distill: ", lines[0]);
        Assert.Contains(args[^1], lines[0]);
        Assert.DoesNotContain("   at ", result.Error); // no stack trace
    }

    [Fact]
    public async Task Out_of_range_value_names_the_option_and_exits_2()
    {
        var result = await Distill.RunAsync("doctor", "--seconds", "1000");
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        Assert.Equal("distill: --seconds: must be between 0 and 60", result.Error.Trim());
    }

    [Fact]
    public async Task Help_lists_the_verbs()
    {
        var result = await Distill.RunAsync("--help");
        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Contains("doctor", result.Output);
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task Doctor_reports_libtorch_and_a_measured_rate()
    {
        var result = await Distill.RunAsync("doctor", "--seconds", "0.3");
        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Contains("libtorch", result.Output);
        Assert.Matches(@"\d+\.\d GFLOP/s", result.Output);
        Assert.Contains("llama.cpp", result.Output);
    }
}
