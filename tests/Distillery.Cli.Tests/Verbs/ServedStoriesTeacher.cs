using System;
using System.Threading.Tasks;
using Distillery.Models.Loading;
using Distillery.Server;
using Distillery.TestSupport.Files;

namespace Distillery.Cli.Tests.Verbs;

/// <summary>stories260K loaded here and served by <c>distill serve</c>'s server on a free loopback port: the teacher behind an API that the on-policy tests train against.</summary>
internal sealed class ServedStoriesTeacher : IAsyncDisposable
{
    /// <summary>The model id the server answers to.</summary>
    public const string ModelId = "stories260K";

    private ServedStoriesTeacher(ModelBundle bundle, OpenAiServer server)
    {
        Bundle = bundle;
        Server = server;
    }

    /// <summary>The model file in the shared data.</summary>
    public static string ModelPath => SharedTestData.Get("stories260K/stories260K.bin");

    /// <summary>The same model, loaded in this process, for reference answers.</summary>
    public ModelBundle Bundle { get; }

    /// <summary>The server, with its request counts.</summary>
    public OpenAiServer Server { get; }

    /// <summary>The API's base URL, ending in <c>/v1</c>.</summary>
    public string BaseUrl => new Uri(Server.BaseAddress, "v1").ToString();

    /// <summary>Loads the model and starts serving it.</summary>
    public static async Task<ServedStoriesTeacher> StartAsync()
    {
        var bundle = await ModelLoader.LoadAsync("llama2c:" + ModelPath);
        return new ServedStoriesTeacher(bundle, await OpenAiServer.StartAsync(new ModelBundleService(bundle, ModelId), new ServerOptions { Port = 0 }));
    }

    /// <summary>Stops the server and frees the model.</summary>
    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Bundle.Dispose();
    }
}
