namespace Distillery.Cli.Tests;

/// <summary>
/// Tests that compare two training runs bit for bit. libtorch's thread count is process-wide, and sampling elsewhere drops
/// it to one for a while (IntraOpThreads), which changes float reduction order; so these run alone. (xunit needs the
/// definition in each test assembly; Training.Tests has its own.)
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTorchCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "serial torch threads";
}
