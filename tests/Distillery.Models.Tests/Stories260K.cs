using System;
using System.IO;
using Distillery.Models.Checkpoints;
using Distillery.Models.Llama;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;

namespace Distillery.Models.Tests;

/// <summary>The shared stories260K model and its tokenizer, loaded once for the tests that read them.</summary>
public sealed class Stories260K : IDisposable
{
    public Stories260K()
    {
        Model = Llama2cCheckpoint.LoadAsync(Path("stories260K/stories260K.bin")).GetAwaiter().GetResult();
        Tokenizer = Llama2cTokenizer.LoadAsync(Path("stories260K/tok512.bin")).GetAwaiter().GetResult();
    }

    public LlamaForCausalLM Model { get; }

    public Llama2cTokenizer Tokenizer { get; }

    public static string Path(string relative) =>
        SharedTestData.Get(relative);

    public static string Reference(string name) => File.ReadAllText(Path($"reference/stories260K/{name}"));

    public void Dispose() => Model.Dispose();
}

[CollectionDefinition(Name)]
public sealed class Stories260KCollection : ICollectionFixture<Stories260K>
{
    public const string Name = "stories260K";
}
