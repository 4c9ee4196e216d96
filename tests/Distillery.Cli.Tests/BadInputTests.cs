using System;
using System.IO;
using System.Threading.Tasks;
using Distillery.Cli.Tests.Fuzzing;
using Distillery.Core.Errors;
using Distillery.TestSupport.Cli;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Tokenizers;

namespace Distillery.Cli.Tests;

/// <summary>Bad input given to the CLI ends before any work, in one line on stderr that names the option or file, with exit code 2.</summary>
public sealed class BadInputTests
{
    private static void AssertOneLineBadInput(CliResult result, string mentions)
    {
        Assert.Equal(ExitCodes.BadInput, result.ExitCode);
        var lines = result.Error.TrimEnd().Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("distill: ", lines[0]);
        Assert.Contains(mentions, lines[0]);
    }

    [Theory]
    [InlineData("--top-logprobs", "500")]
    [InlineData("--top-p", "0")]
    [InlineData("--temperature", "2.5")]
    [InlineData("--max-tokens", "0")]
    public async Task Generate_with_a_sampling_value_out_of_limits_stops_before_any_work(string option, string value)
    {
        using var dir = new ScratchFolder();
        var prompts = dir.File("prompts.txt");
        await File.WriteAllTextAsync(prompts, "Once\n");
        var teacher = dir.File("teacher.bin");
        await File.WriteAllBytesAsync(teacher, [1, 2, 3]); // never read: the check comes first
        var result = await Distill.RunAsync("generate", "--prompts", prompts, "--teacher", "llama2c:" + teacher, "--out", dir.File("out"), option, value);
        AssertOneLineBadInput(result, option + ":");
        Assert.False(Directory.Exists(dir.File("out")), "nothing may be written before the options are checked");
    }

    [Fact]
    public async Task Batch_with_a_pool_of_endpoints_is_refused_naming_both_options_before_any_work()
    {
        using var dir = new ScratchFolder();
        var prompts = dir.File("prompts.txt");
        await File.WriteAllTextAsync(prompts, "Once\n");
        var pool = dir.File("pool.json");
        await File.WriteAllTextAsync(pool, """{"name":"p","endpoints":[{"name":"a","base_url":"http://127.0.0.1:1/v1"},{"name":"b","base_url":"http://127.0.0.1:2/v1"}]}""");
        var result = await Distill.RunAsync("generate", "--batch", "--endpoints", pool, "--prompts", prompts, "--teacher", "openai:gpt-test", "--out", dir.File("out"));
        AssertOneLineBadInput(result, "--batch: and --endpoints exclude each other: a pool spreads single requests, while a batch file");
        Assert.False(Directory.Exists(dir.File("out")), "nothing may be written before the options are checked");
    }

    [Fact]
    public async Task Serving_a_network_address_without_a_key_is_refused_naming_api_key_env()
    {
        var result = await Distill.RunAsync("serve", "--model", "llama2c:/no/such/model.bin", "--host", "0.0.0.0");
        AssertOneLineBadInput(result, "--api-key-env");
    }

    [Theory]
    [InlineData("0.0.0.0", "--allow-unauthenticated")]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    [InlineData("localhost")]
    public async Task Loopback_or_an_explicit_yes_serves_without_a_key(params string[] hostAndFlags)
    {
        // The check passes, so the run goes on to load the model, which does not exist.
        var result = await Distill.RunAsync(["serve", "--model", "llama2c:/no/such/model.bin", "--host", .. hostAndFlags]);
        AssertOneLineBadInput(result, "/no/such/model.bin");
        Assert.DoesNotContain("--api-key-env", result.Error);
    }

    [Theory]
    [InlineData("gguf")]
    [InlineData("llama2c")]
    public async Task A_corrupted_model_file_is_one_line_and_exit_2(string kind)
    {
        using var dir = new ScratchFolder();
        var path = dir.File(kind == "gguf" ? "model.gguf" : "model.bin");
        byte[] bytes;
        if (kind == "gguf")
        {
            SeedFiles.WriteGguf(path);
            bytes = await File.ReadAllBytesAsync(path);
            bytes.AsSpan(24, 8).Fill(0xFF); // the first key's length: a few corrupted header bytes
        }
        else
        {
            bytes = SeedFiles.Llama2cCheckpointBytes(new Random(1));
            bytes.AsSpan(0, 4).Fill(0x7F); // dim
        }
        await File.WriteAllBytesAsync(path, bytes);
        var result = await Distill.RunAsync("sample", "--model", $"{kind}:{path}", "--prompt", "Once", "--max-tokens", "2");
        AssertOneLineBadInput(result, path);
        Assert.DoesNotContain("   at ", result.Error);
    }

    [Theory]
    [InlineData("tiktoken.json")]
    [InlineData("tokenizer.model")]
    public async Task A_corrupted_tokenizer_file_is_one_line_and_exit_2(string name)
    {
        using var dir = new ScratchFolder();
        var model = dir.File("model.bin");
        await File.WriteAllBytesAsync(model, SeedFiles.Llama2cCheckpointBytes(new Random(1)));
        var path = dir.File(name);
        var whole = name == "tiktoken.json"
            ? System.Text.Encoding.UTF8.GetBytes(SeedFiles.TiktokenJson())
            : await File.ReadAllBytesAsync(TokenizerData.Committed("spm-bpe-1024/tokenizer.model"));
        await File.WriteAllBytesAsync(path, whole[..(whole.Length / 2)]); // cut in the middle
        var result = await Distill.RunAsync("sample", "--model", $"llama2c:{model}", "--tokenizer", path, "--prompt", "Once", "--max-tokens", "2");
        AssertOneLineBadInput(result, path);
        Assert.DoesNotContain("   at ", result.Error);
    }
}
