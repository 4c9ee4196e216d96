using System;
using System.IO;
using System.Threading.Tasks;
using Spectre.Console;

namespace Distillery.Cli.Tests.Verbs;

public sealed class DemoClassicVerbTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("demo-classic-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 200;
        var code = await CliApp.RunAsync(args, console, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task UnknownDatasetIsBadInputInOneLine()
    {
        var (code, _, err) = await Run("demo", "classic", "--dataset", "cifar");
        Assert.Equal(2, code);
        Assert.Contains("--dataset: 'cifar' is not a known dataset", err);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public async Task TinyRunPrintsTheTableAndTheDataUsed()
    {
        var (code, output, err) = await Run("demo", "classic", "--dataset", "mnist", "--epochs", "1", "--train-limit", "600",
            "--test-limit", "500", "--output", root);
        Assert.True(code == 0, err);
        Assert.Contains("teacher", output);
        Assert.Contains("distilled", output);
        Assert.Contains("2,395,210", output);
        Assert.Contains("Share of the baseline", output);
        Assert.Contains("600 training images from", output);
        Assert.Contains("t10k-images-idx3-ubyte.gz", output);
    }
}
