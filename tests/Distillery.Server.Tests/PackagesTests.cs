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
/// TorchSharp through the package's own libstdc++ fix, and answers as the student does in-process.
/// </summary>
[Trait("Speed", "Slow")]
[Collection(ServedStoriesCollection.Name)]
public sealed class PackagesTests(ServedStories served)
{
    private static readonly string[] Libraries = ["Distillery.Core", "Distillery.Models", "Distillery.Training", "Distillery.Teachers", "Distillery.Server", "Distillery"];

    [Fact]
    public async Task The_packed_libraries_install_from_a_folder_feed_into_a_fresh_console_project_and_run()
    {
        var root = RepositoryRoot();
        // A version of its own: the NuGet cache never hands this run another run's package.
        var version = "0.1.0-test." + Guid.NewGuid().ToString("N")[..10];
        var configuration = AppContext.BaseDirectory.Contains("/bin/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
        using var dir = new ScratchFolder();
        var feed = Directory.CreateDirectory(Path.Combine(dir.Path, "feed")).FullName;
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set
            ? set : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        try
        {
            foreach (var project in Libraries)
                await RunAsync(root, "pack", $"src/{project}/{project}.csproj", "-c", configuration, "--no-build", "-o", feed, $"-p:PackageVersion={version}");
            AssertPackageContents(Path.Combine(feed, $"Distillery.Models.{version}.nupkg"));

            var app = WriteConsoleProject(Path.Combine(dir.Path, "app"), feed, cache, version);
            var model = SharedTestData.Get("stories260K/stories260K.bin");
            var output = await RunAsync(app, "run", "-c", "Release", "--", model);

            using var student = new StudentChatClient(new ModelBundleService(served.Bundle, "stories"));
            var expected = await student.GetResponseAsync("Once upon a time", new ChatOptions { Temperature = 0, MaxOutputTokens = 16 });
            Assert.Contains($"stories: {expected.Text}", output, StringComparison.Ordinal);
            Assert.True(expected.Text.Length > 10, $"too short to compare: '{expected.Text}'");
        }
        finally
        {
            foreach (var project in Libraries)
            {
                var unpacked = Path.Combine(cache, project.ToLowerInvariant(), version);
                if (Directory.Exists(unpacked)) Directory.Delete(unpacked, recursive: true);
                var id = Path.GetDirectoryName(unpacked)!;
                if (Directory.Exists(id) && !Directory.EnumerateFileSystemEntries(id).Any()) Directory.Delete(id);
            }
        }
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

    private static async Task<string> RunAsync(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
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
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', args)} exited {process.ExitCode}:\n{output}");
        return output;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Distillery.slnx"))) return dir.FullName;
        throw new InvalidOperationException("no Distillery.slnx above " + AppContext.BaseDirectory);
    }
}
