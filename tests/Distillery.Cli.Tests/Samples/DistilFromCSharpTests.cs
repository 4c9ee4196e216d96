using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Distillery.TestSupport.Files;

namespace Distillery.Cli.Tests.Samples;

/// <summary>Runs the README's C# sample (samples/DistilFromCSharp) as a process: a real distillation through the pipeline API.</summary>
public sealed class DistilFromCSharpTests : IDisposable
{
    private readonly ScratchFolder scratch = new("sample-tests");

    public void Dispose() => scratch.Dispose();

    [Trait("Speed", "Slow")]
    [SharedDataFact("stories260K/stories260K.bin")]
    public async Task The_sample_distils_stories260K_into_a_student_that_learnt_from_it()
    {
        var root = RepositoryRoot();
        var (exit, output) = await RunAsync(SampleDll(), SharedTestData.Get("stories260K/stories260K.bin"), Path.Combine(root, "demo", "story-openings.txt"), scratch.Path);

        Assert.True(exit == 0, output);
        Assert.Contains("train: 48 rows", output);
        Assert.Contains("heldout: 12 rows", output);
        Assert.True(File.Exists(Path.Combine(scratch.Path, "student", "model.safetensors")), output);
        var teacher = CrossEntropy(output, "teacher");
        var student = CrossEntropy(output, "student");
        // An untrained student guesses near-uniformly over the 512 tokens (ln 512 = 6.24 nats); this one learnt the teacher's
        // stories, though not as well as the teacher tells them.
        Assert.True(student < Math.Log(512) - 1, $"student cross-entropy {student} is not well below ln 512:\n{output}");
        Assert.True(student > teacher, $"student {student} beat its teacher {teacher}:\n{output}");
    }

    private static double CrossEntropy(string output, string model)
    {
        var match = Regex.Match(output, $@"^{model}: held-out cross-entropy ([0-9.]+) nats/token", RegexOptions.Multiline);
        Assert.True(match.Success, $"no cross-entropy for {model} in:\n{output}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static async Task<(int Exit, string Output)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await output + await error);
    }

    /// <summary>The sample's build output for this test run's configuration and framework.</summary>
    private static string SampleDll()
    {
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var path = Path.Combine(RepositoryRoot(), "samples", "DistilFromCSharp", "bin", testBin.Parent!.Name, testBin.Name, "DistilFromCSharp.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} not found; build samples/DistilFromCSharp");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Distillery.slnx"))) return dir.FullName;
        throw new InvalidOperationException("no Distillery.slnx above " + AppContext.BaseDirectory);
    }
}
