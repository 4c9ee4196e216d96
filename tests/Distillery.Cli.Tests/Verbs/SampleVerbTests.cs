using System;
using System.IO;
using System.Threading.Tasks;
using Distillery.TestSupport.Files;

namespace Distillery.Cli.Tests.Verbs;

public sealed class SampleVerbTests
{
    private static string Shared(string relative) =>
        SharedTestData.Get(relative);

    [Fact]
    public async Task Greedy_sample_prints_llama2c_reference_text()
    {
        var model = "llama2c:" + Shared("stories260K/stories260K.bin");
        var reference = await File.ReadAllTextAsync(Shared("reference/stories260K/greedy_n64_once_upon_a_time.txt"));
        // llama2.c's -n 64 counts positions: 60 new tokens after the 5-token prompt, printed after the prompt.
        var (code, output, error) = await Distill.RunAsync("sample", "--model", model, "--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "60");
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Equal(reference, output);

        (code, output, _) = await Distill.RunAsync("sample", "--model", model, "--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "64");
        Assert.Equal(0, code);
        Assert.StartsWith(reference.TrimEnd('\n'), output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Top_logprobs_prints_a_table_of_alternatives()
    {
        var (code, output, _) = await Distill.RunAsync("sample", "--model", "llama2c:" + Shared("stories260K/stories260K.bin"),
            "--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "3", "--top-logprobs", "2");
        Assert.Equal(0, code);
        Assert.Contains("alternatives", output, StringComparison.Ordinal);
        Assert.Contains("\",\"", output, StringComparison.Ordinal); // the first greedy token is ","
    }

    [Theory]
    [InlineData("--temperature", "-1")]
    [InlineData("--top-p", "0")]
    [InlineData("--max-tokens", "0")]
    [InlineData("--top-logprobs", "21")]
    public async Task A_bad_option_is_exit_code_2_with_one_line_naming_it(string option, string value)
    {
        var (code, _, error) = await Distill.RunAsync("sample", "--model", "llama2c:" + Shared("stories260K/stories260K.bin"), "--prompt", "x", option, value);
        Assert.Equal(2, code);
        Assert.Contains(option, error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task A_missing_model_file_is_exit_code_2()
    {
        var (code, _, error) = await Distill.RunAsync("sample", "--model", "llama2c:/nowhere/model.bin", "--prompt", "x");
        Assert.Equal(2, code);
        Assert.Contains("/nowhere/model.bin", error, StringComparison.Ordinal);
    }
}
