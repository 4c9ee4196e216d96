using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Teachers.Tests.Servers;
using Spectre.Console;

namespace Distillery.Cli.Tests;

public sealed class GenerateVerbTests
{
    private static string[] Args(FakeOpenAiServer server, string prompts, string output, string keyVariable, params string[] more) =>
    [
        "generate", "--prompts", prompts, "--teacher", "openai:gpt-test", "--out", output, "--base-url", server.BaseUrl.ToString(),
        "--api-key-env", keyVariable, "--temperature", "0", "--top-logprobs", "3", "--max-tokens", "16", "--concurrency", "4", .. more,
    ];

    private static string WritePrompts(ScratchDir dir, int count)
    {
        var path = dir.File("prompts.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, count).Select(i => $"{{\"id\":\"q{i}\",\"prompt\":\"question number {i} please\"}}"));
        return path;
    }

    [Fact]
    public async Task A_malformed_prompts_line_is_file_line_with_exit_2_and_nothing_is_sent()
    {
        using var dir = new ScratchDir();
        await using var server = await FakeOpenAiServer.StartAsync();
        var prompts = dir.File("prompts.jsonl");
        await File.WriteAllLinesAsync(prompts, ["{\"prompt\":\"ok\"}", "{\"prompt\":\"ok too\"}", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],}"]);

        var (exit, _, error) = await TeacherCli.RunAsync(Args(server, prompts, dir.File("out"), TeacherCli.KeyVariable("sk-x")));

        Assert.Equal(2, exit);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"distill: {prompts}:3: not valid JSON", line, StringComparison.Ordinal);
        Assert.Equal(0, server.Received);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public async Task A_run_prints_its_summary_and_exits_0_and_a_missing_key_for_a_remote_api_is_exit_2()
    {
        using var dir = new ScratchDir();
        await using var server = await FakeOpenAiServer.StartAsync();
        var prompts = WritePrompts(dir, 5);

        var (exit, output, error) = await TeacherCli.RunAsync(Args(server, prompts, dir.File("out"), TeacherCli.KeyVariable("sk-x"), "--price-input", "1", "--price-output", "2"));

        Assert.True(exit == 0, error);
        Assert.Contains("5 of 5", output, StringComparison.Ordinal);
        Assert.Contains("answered by the teacher", output, StringComparison.Ordinal);
        Assert.Equal(5, File.ReadAllLines(Path.Combine(dir.File("out"), "data.jsonl")).Length);

        // A remote API needs its key: refused before anything is sent (the address is never contacted).
        var remote = Args(server, prompts, dir.File("out2"), "DISTILL_TEST_UNSET_VARIABLE");
        remote[Array.IndexOf(remote, "--base-url") + 1] = "https://api.example.invalid/v1";
        var (missing, _, missingError) = await TeacherCli.RunAsync(remote);
        Assert.Equal(2, missing);
        Assert.StartsWith("distill: DISTILL_TEST_UNSET_VARIABLE: is not set", missingError, StringComparison.Ordinal);

        // A server on this machine (distill serve, llama.cpp, vLLM, Ollama) takes no key.
        var (local, _, localError) = await TeacherCli.RunAsync(Args(server, prompts, dir.File("out3"), "DISTILL_TEST_UNSET_VARIABLE"));
        Assert.True(local == 0, localError);
    }

    [Fact]
    public async Task Any_failed_request_makes_exit_1_with_the_servers_message()
    {
        using var dir = new ScratchDir();
        await using var server = await FakeOpenAiServer.StartAsync();
        server.Faults = (prompt, _) => prompt.Contains("number 2 ", StringComparison.Ordinal) ? Fault.BadRequest : Fault.None;

        var (exit, output, error) = await TeacherCli.RunAsync(Args(server, WritePrompts(dir, 4), dir.File("out"), TeacherCli.KeyVariable("sk-x")));

        Assert.Equal(1, exit);
        Assert.Contains("1 request(s) failed (first: prompt q2 (line 3): HTTP 400: This model's maximum context length is 8 tokens.)", error, StringComparison.Ordinal);
        Assert.Contains("3 of 4", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Killed_mid_run_then_resumed_equals_an_uninterrupted_run_and_each_prompt_is_answered_once()
    {
        using var dir = new ScratchDir();
        await using var server = await FakeOpenAiServer.StartAsync();
        var prompts = WritePrompts(dir, 24);
        var key = "sk-kill-test";
        var interrupted = dir.File("interrupted");

        // Eight answers, then the server holds every request: the kill lands with requests in flight.
        server.HoldAfter = 8;
        var child = TeacherCli.StartDistill(Args(server, prompts, interrupted, "DISTILL_CHILD_KEY"), ("DISTILL_CHILD_KEY", key));
        try
        {
            var data = Path.Combine(interrupted, "data.jsonl");
            var watch = Stopwatch.StartNew();
            while (!(File.Exists(data) && TeacherCli.CountLines(data) >= 8 && server.Held >= 1) && watch.Elapsed < TimeSpan.FromSeconds(60) && !child.HasExited)
                await Task.Delay(20);
            if (child.HasExited) Assert.Fail($"distill ended early: {await child.StandardError.ReadToEndAsync()}");
            Assert.Equal(8, TeacherCli.CountLines(data));
            child.Kill();
            await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            if (!child.HasExited) child.Kill();
            child.Dispose();
        }
        var aborted = Stopwatch.StartNew();
        while (server.Events.Count(e => e.Outcome == "aborted") < server.Held && aborted.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(20);
        Assert.True(server.Events.Count(e => e.Outcome == "aborted") >= 1);

        server.HoldAfter = -1;
        var (resumed, resumedError) = await TeacherCli.RunDistillAsync(Args(server, prompts, interrupted, "DISTILL_CHILD_KEY"), ("DISTILL_CHILD_KEY", key));
        Assert.True(resumed == 0, resumedError);
        var answeredOnce = server.AnsweredByPrompt();
        Assert.Equal(24, answeredOnce.Count);
        Assert.All(answeredOnce, p => Assert.Equal(1, p.Value));

        server.Reset();
        var straight = dir.File("straight");
        var (exit, error) = await TeacherCli.RunDistillAsync(Args(server, prompts, straight, "DISTILL_CHILD_KEY"), ("DISTILL_CHILD_KEY", key));
        Assert.True(exit == 0, error);
        Assert.Equal(24, server.AnsweredTotal);

        // Rows equal but for the time they were answered.
        Assert.Equal(TeacherCli.RowsWithoutTimestamps(straight), TeacherCli.RowsWithoutTimestamps(interrupted));
        Assert.DoesNotContain(key, await File.ReadAllTextAsync(Path.Combine(interrupted, "data.jsonl")), StringComparison.Ordinal);
    }
}

/// <summary>Runs <c>distill</c> in this process or as a child process (the real <c>distill.dll</c>).</summary>
public static class TeacherCli
{
    public static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 240;
        var exit = await CliApp.RunAsync(args, console, error);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>An environment variable holding a test API key, unique to the caller so parallel tests do not meet.</summary>
    public static string KeyVariable(string key)
    {
        var name = "DISTILL_TEST_KEY_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        Environment.SetEnvironmentVariable(name, key);
        return name;
    }

    public static Process StartDistill(string[] args, params (string Name, string Value)[] environment)
    {
        var dll = DistillDll();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        var process = Process.Start(start)!;
        // Drain stdout so a full pipe never blocks the child.
        _ = process.StandardOutput.ReadToEndAsync();
        return process;
    }

    /// <summary>The CLI's own build output (its dependencies are resolved there; this test folder also carries ASP.NET Core's).</summary>
    public static string DistillDll()
    {
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = testBin.Name;
        var configuration = testBin.Parent!.Name;
        for (var dir = testBin; dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "Distillery.Cli", "bin", configuration, framework, "distill.dll");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"distill.dll ({configuration}/{framework}) not found above {testBin.FullName}; build src/Distillery.Cli");
    }

    public static async Task<(int Exit, string Error)> RunDistillAsync(string[] args, params (string Name, string Value)[] environment)
    {
        using var process = StartDistill(args, environment);
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            process.Kill();
            throw;
        }
        return (process.ExitCode, await error);
    }

    public static int CountLines(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var count = 0;
        int b;
        while ((b = stream.ReadByte()) >= 0) if (b == '\n') count++;
        return count;
    }

    public static List<string> RowsWithoutTimestamps(string dataset) =>
        File.ReadAllLines(Path.Combine(dataset, "data.jsonl")).Select(line =>
        {
            var row = JsonNode.Parse(line)!;
            row["distillery"]!.AsObject().Remove("timestamp");
            return row.ToJsonString();
        }).ToList();
}

public sealed class ScratchDir : IDisposable
{
    public ScratchDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "distill-cli-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Still held open somewhere; the OS cleans temp.
        }
    }
}
