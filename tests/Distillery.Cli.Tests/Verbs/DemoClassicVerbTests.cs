using System;
using System.Threading.Tasks;
using Distillery.TestSupport.Files;

namespace Distillery.Cli.Tests.Verbs;

public sealed class DemoClassicVerbTests : IDisposable
{
    private readonly ScratchFolder scratch = new("demo-classic");

    private string root => scratch.Path;

    public void Dispose() => scratch.Dispose();

    [Fact]
    public async Task UnknownDatasetIsBadInputInOneLine()
    {
        var (code, _, err) = await Distill.RunAsync("demo", "classic", "--dataset", "cifar");
        Assert.Equal(2, code);
        Assert.Contains("--dataset: 'cifar' is not a known dataset", err);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task TinyRunPrintsTheTableAndTheDataUsed()
    {
        var (code, output, err) = await Distill.RunAsync("demo", "classic", "--dataset", "mnist", "--epochs", "1", "--train-limit", "600",
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
