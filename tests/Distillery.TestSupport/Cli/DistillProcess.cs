using System;
using System.Diagnostics;
using System.IO;
using System.Threading.Tasks;

namespace Distillery.TestSupport.Cli;

/// <summary>Runs the real <c>distill.dll</c> as a child process (for what only a process shows: a kill, a resume, the environment).</summary>
public static class DistillProcess
{
    /// <summary>The longest a child run may take before it is killed and the test fails.</summary>
    public static TimeSpan Limit { get; } = TimeSpan.FromSeconds(120);

    /// <summary>Starts <c>dotnet distill.dll ARGS</c> with extra environment variables; standard output is drained (and dropped) so a full pipe never blocks the child.</summary>
    public static Process Start(string[] args, params (string Name, string Value)[] environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        var start = NewStartInfo(args, environment);
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        _ = process.StandardOutput.ReadToEndAsync();
        return process;
    }

    /// <summary>Runs <c>distill</c> to its end and returns what it printed; killed (and a <see cref="TimeoutException"/>) past <see cref="Limit"/>.</summary>
    public static async Task<CliResult> RunAsync(string[] args, params (string Name, string Value)[] environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        using var process = Process.Start(NewStartInfo(args, environment)) ?? throw new InvalidOperationException("dotnet did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(Limit);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return new CliResult(process.ExitCode, await output, await error);
    }

    /// <summary>The CLI's own build output for this test run's configuration and framework (its dependencies resolve there, not in the test folder).</summary>
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

    private static ProcessStartInfo NewStartInfo(string[] args, (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(DistillDll());
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        return start;
    }
}
