using System;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Threading.Tasks;
using Distillery.TestSupport.Files;
using Microsoft.Extensions.AI;

namespace Distillery.Server.Tests;

/// <summary>
/// The NuGet packages, packed from this build into a local folder feed and installed into a fresh console project outside the
/// repository (no Directory.Build files, no build/ folder): it restores offline (the feed plus the local NuGet cache), loads
/// TorchSharp through the package's own libstdc++ fix, and answers as the student does in-process. The CLI, packed as the
/// linux-x64 .NET tool, installs into a tool path and runs TorchSharp and llama.cpp from there.
/// </summary>
[Trait("Speed", "Slow")]
[Collection(ServedStoriesCollection.Name)]
public sealed class PackagesTests(ServedStories served)
{
    private static readonly string[] Libraries = ["Distillery.Core", "Distillery.Models", "Distillery.Training", "Distillery.Teachers", "Distillery.Evaluation", "Distillery.Server", "Distillery"];

    [Fact]
    public async Task The_packed_libraries_install_from_a_folder_feed_into_a_fresh_console_project_and_run()
    {
        var root = RepositoryRoot();
        var version = NewVersion();
        using var dir = new ScratchFolder();
        var feed = Directory.CreateDirectory(Path.Combine(dir.Path, "feed")).FullName;
        try
        {
            foreach (var project in Libraries)
                await RunAsync(root, "dotnet", "pack", $"src/{project}/{project}.csproj", "-c", Configuration, "--no-build", "-o", feed, $"-p:PackageVersion={version}");
            AssertPackageContents(Path.Combine(feed, $"Distillery.Models.{version}.nupkg"));

            var app = WriteConsoleProject(Path.Combine(dir.Path, "app"), feed, NuGetCache, version);
            var model = SharedTestData.Get("stories260K/stories260K.bin");
            var output = await RunAsync(app, "dotnet", "run", "-c", "Release", "--", model);

            using var student = new StudentChatClient(new ModelBundleService(served.Bundle, "stories"));
            var expected = await student.GetResponseAsync("Once upon a time", new ChatOptions { Temperature = 0, MaxOutputTokens = 16 });
            Assert.Contains($"stories: {expected.Text}", output, StringComparison.Ordinal);
            Assert.True(expected.Text.Length > 10, $"too short to compare: '{expected.Text}'");
        }
        finally
        {
            ForgetCachedPackages(Libraries, version);
        }
    }

    [Fact]
    public async Task The_packed_tool_holds_only_linux_x64_natives_installs_into_a_tool_path_and_runs_torchsharp_and_llama_cpp()
    {
        var root = RepositoryRoot();
        var version = NewVersion();
        using var dir = new ScratchFolder();
        var feed = Directory.CreateDirectory(Path.Combine(dir.Path, "feed")).FullName;
        string[] ids = ["distill", "distill.linux-x64"];
        try
        {
            // Builds the CLI for linux-x64 (bin/CONFIGURATION/net10.0/linux-x64), beside the runtime-neutral build other tests run.
            await RunAsync(root, "dotnet", "pack", "src/Distillery.Cli/Distillery.Cli.csproj", "-c", Configuration, "-o", feed, $"-p:PackageVersion={version}");
            AssertToolPackageContents(Path.Combine(feed, $"distill.linux-x64.{version}.nupkg"));
            var tools = Path.Combine(dir.Path, "tools");
            await RunAsync(dir.Path, "dotnet", "tool", "install", "distill", "--add-source", feed, "--tool-path", tools, "--version", version);
            var installed = Path.Combine(tools, "distill");
            var inTree = Path.Combine(root, "src", "Distillery.Cli", "bin", Configuration, "net10.0", "distill.dll");

            // TorchSharp loads through the package's own libstdc++ fix: the tool continues a prompt exactly as the in-tree build does.
            string[] sample = ["sample", "--model", "llama2c:" + SharedTestData.Get("stories260K/stories260K.bin"), "--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "24"];
            var expected = await RunAsync(dir.Path, "dotnet", [inTree, .. sample]);
            Assert.StartsWith("Once upon a time", expected, StringComparison.Ordinal);
            Assert.Equal(expected, await RunAsync(dir.Path, installed, sample));

            // llama.cpp loads from the package's runtimes/linux-x64 and decodes the exported GGUF as Distillery does.
            var export = await RunAsync(dir.Path, installed, "export", "--model", "llama2c:" + SharedTestData.Get("stories260K/stories260K.bin"),
                "--tokenizer", SharedTestData.Get("stories260K/tok512.bin"), "--format", "gguf", "--out", Path.Combine(dir.Path, "s.gguf"), "--verify");
            Assert.Contains("greedy tokens identical", export, StringComparison.Ordinal);
        }
        finally
        {
            ForgetCachedPackages(ids, version);
        }
    }

    /// <summary>A version of its own: the NuGet cache never hands this run another run's package.</summary>
    private static string NewVersion() => "0.1.0-test." + Guid.NewGuid().ToString("N")[..10];

    /// <summary>The configuration these tests were built in, which the packs reuse.</summary>
    private static string Configuration => AppContext.BaseDirectory.Contains("/bin/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";

    private static string NuGetCache => Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set
        ? set : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>Removes this run's packages from the NuGet cache (and their id folders when left empty).</summary>
    private static void ForgetCachedPackages(string[] ids, string version)
    {
        foreach (var id in ids)
        {
            var unpacked = Path.Combine(NuGetCache, id.ToLowerInvariant(), version);
            if (Directory.Exists(unpacked)) Directory.Delete(unpacked, recursive: true);
            var folder = Path.GetDirectoryName(unpacked)!;
            if (Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any()) Directory.Delete(folder);
        }
    }

    private static void AssertToolPackageContents(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        var natives = zip.Entries.Select(e => e.FullName).Where(n => n.Contains("/runtimes/", StringComparison.Ordinal)).ToList();
        Assert.Contains(natives, n => n.EndsWith("runtimes/linux-x64/native/avx2/libllama.so", StringComparison.Ordinal));
        Assert.All(natives, n => Assert.Contains("/runtimes/linux-x64/", n, StringComparison.Ordinal));
        Assert.Contains(zip.Entries, e => e.FullName.EndsWith("/libtorch_cpu.so", StringComparison.Ordinal));
    }

    private static void AssertPackageContents(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("LICENSE", names);
        Assert.Contains("README.md", names);
        Assert.Contains("lib/net10.0/Distillery.Models.xml", names);
        Assert.Contains("buildTransitive/Distillery.Models.targets", names);
        Assert.Contains("buildTransitive/torchsharp-compat/apply.sh", names);
        using var nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
        Assert.Contains("<license type=\"expression\">MIT</license>", nuspec.ReadToEnd(), StringComparison.Ordinal);
    }

    private static string WriteConsoleProject(string app, string feed, string cache, string version)
    {
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Distillery" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using Distillery.Server;
            using Microsoft.Extensions.AI;

            using var student = await StudentChatClient.LoadAsync("llama2c:" + args[0], "stories");
            var answer = await student.GetResponseAsync("Once upon a time", new ChatOptions { Temperature = 0, MaxOutputTokens = 16 });
            Console.WriteLine($"{answer.ModelId}: {answer.Text}");
            """);
        // Offline: the folder feed, and the local NuGet cache (laid out as a feed) for every dependency.
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="distillery" value="{feed}" />
                <add key="cache" value="{cache}" />
              </packageSources>
            </configuration>
            """);
        return app;
    }

    private static async Task<string> RunAsync(string workingDirectory, string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        // The test host's MSBuild settings would steer the child build; it starts clean.
        foreach (var name in new[] { "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildSDKsPath", "DOTNET_HOST_PATH" }) start.Environment.Remove(name);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} exited {process.ExitCode}:\n{output}");
        return output;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Distillery.slnx"))) return dir.FullName;
        throw new InvalidOperationException("no Distillery.slnx above " + AppContext.BaseDirectory);
    }
}
