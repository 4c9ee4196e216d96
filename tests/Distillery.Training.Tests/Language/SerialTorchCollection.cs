namespace Distillery.Training.Tests.Language;

/// <summary>
/// Tests that write teacher samples with one torch thread (see <see cref="StoriesData"/>): the thread count is process-wide
/// and changes float reduction order, so they run alone, never beside tests that compare two runs bit for bit.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialTorchCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "serial torch threads";
}
