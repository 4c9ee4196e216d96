using Distillery.Models.Decoding;
using Distillery.Models.Llama;
using static TorchSharp.torch;

namespace Distillery.Models.Tests.Decoding;

/// <summary>Runs alone: libtorch's thread count is process-wide, and other tests' decoding would change it meanwhile.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LibTorchThreadsCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "libtorch threads";
}

[Collection(LibTorchThreadsCollection.Name)]
public sealed class IntraOpThreadsTests
{
    private static readonly LlamaConfig Small = new() { HiddenSize = 32, IntermediateSize = 86 };
    private static readonly LlamaConfig Large = new() { HiddenSize = 1024, IntermediateSize = 3072 };

    [Fact]
    public void A_small_model_decodes_on_one_thread_and_the_last_scope_to_close_restores_the_count()
    {
        var before = get_num_threads();
        set_num_threads(2);
        try
        {
            var outer = IntraOpThreads.ForDecoding(Small, rows: 16);
            Assert.NotNull(outer);
            Assert.Equal(1, get_num_threads());
            using (IntraOpThreads.ForDecoding(Small, rows: 1)) Assert.Equal(1, get_num_threads());
            Assert.Equal(1, get_num_threads()); // the outer scope is still open
            outer.Dispose();
            outer.Dispose(); // twice is once
            Assert.Equal(2, get_num_threads());
        }
        finally
        {
            set_num_threads(before);
        }
    }

    [Fact]
    public void A_large_model_keeps_libtorchs_count()
    {
        Assert.Null(IntraOpThreads.ForDecoding(Large, rows: 1));
        Assert.Null(IntraOpThreads.ForDecoding(Small, rows: 4096)); // 4096 · 32 · 86 multiply-adds per projection: worth the pool
    }
}
