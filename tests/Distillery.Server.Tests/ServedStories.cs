using System;
using System.Net.Http;
using System.Threading.Tasks;
using Distillery.Models.Loading;
using Distillery.TestSupport.Files;

namespace Distillery.Server.Tests;

/// <summary>stories260K served on a free loopback port for the whole test class, plus a raw HTTP client.</summary>
public sealed class ServedStories : IAsyncLifetime
{
    public const string ModelId = "stories260K";

    public ModelBundle Bundle { get; private set; } = null!;

    public OpenAiServer Server { get; private set; } = null!;

    public HttpClient Http { get; } = new();

    public Uri ApiBase => new(Server.BaseAddress, "v1/");

    public async Task InitializeAsync()
    {
        var path = SharedTestData.Get("stories260K/stories260K.bin");
        Bundle = await ModelLoader.LoadAsync("llama2c:" + path);
        Server = await OpenAiServer.StartAsync(new ModelBundleService(Bundle, ModelId),
            new ServerOptions { Port = 0, MaxRequestBodyBytes = 64 * 1024, MaxConcurrentGenerations = 1 });
        Http.BaseAddress = Server.BaseAddress;
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        Bundle.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class ServedStoriesCollection : ICollectionFixture<ServedStories>
{
    public const string Name = "served stories260K";
}
