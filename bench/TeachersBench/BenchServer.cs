using System;
using System.Linq;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TeachersBench;

/// <summary>An OpenAI-compatible server on loopback with a fixed capacity: <c>slots</c> requests served at once, each taking <c>serviceTime</c>,
/// answered with 16 tokens and 5 top logprobs each, like a model server behind a rate limit. <c>GET /bench/answered</c> and
/// <c>POST /bench/reset</c> read and reset its count of answers.</summary>
/// <remarks>The benchmark runs it in a process of its own (<c>--serve</c>), as a real teacher server is: in the measuring
/// process its service time would depend on that process's thread pool and timers, which the code being measured changes.</remarks>
public sealed class BenchServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly SemaphoreSlim slots;
    private readonly TimeSpan serviceTime;
    private readonly byte[] answer;
    private int answered;

    private BenchServer(WebApplication app, int slots, TimeSpan serviceTime)
    {
        this.app = app;
        this.slots = new SemaphoreSlim(slots, slots);
        this.serviceTime = serviceTime;
        answer = Encoding.UTF8.GetBytes(Answer());
    }

    public Uri BaseUrl { get; private set; } = null!;

    public int Answered => Volatile.Read(ref answered);

    public void Reset() => Interlocked.Exchange(ref answered, 0);

    public static async Task<BenchServer> StartAsync(int slots, TimeSpan serviceTime)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new BenchServer(app, slots, serviceTime);
        app.MapPost("/v1/chat/completions", server.HandleAsync);
        app.MapGet("/bench/answered", () => server.Answered);
        app.MapPost("/bench/reset", () => server.Reset());
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = new Uri(address.TrimEnd('/') + "/v1");
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        // Read the whole request as a real server must.
        await JsonNode.ParseAsync(context.Request.Body);
        await slots.WaitAsync();
        try
        {
            await Task.Delay(serviceTime);
        }
        finally
        {
            slots.Release();
        }
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = answer.Length;
        await context.Response.Body.WriteAsync(answer);
        Interlocked.Increment(ref answered);
    }

    private static string Answer()
    {
        var tokens = Enumerable.Range(0, 16).Select(i => i == 0 ? "Once" : $" w{i}").ToList();
        var content = new JsonArray();
        for (var i = 0; i < tokens.Count; i++)
        {
            var top = new JsonArray();
            for (var r = 0; r < 5; r++)
            {
                var alt = r == 0 ? tokens[i] : $" alt{r}";
                top.Add(new JsonObject { ["token"] = alt, ["logprob"] = -0.1 * (r + 1), ["bytes"] = new JsonArray(Encoding.UTF8.GetBytes(alt).Select(b => (JsonNode)JsonValue.Create((int)b)!).ToArray()) });
            }
            content.Add(new JsonObject { ["token"] = tokens[i], ["logprob"] = -0.1, ["bytes"] = new JsonArray(Encoding.UTF8.GetBytes(tokens[i]).Select(b => (JsonNode)JsonValue.Create((int)b)!).ToArray()), ["top_logprobs"] = top });
        }
        return new JsonObject
        {
            ["id"] = "chatcmpl-bench",
            ["object"] = "chat.completion",
            ["created"] = 1_764_000_000,
            ["model"] = "bench-model-1",
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = string.Concat(tokens) },
                ["logprobs"] = new JsonObject { ["content"] = content },
                ["finish_reason"] = "length",
            }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 12, ["completion_tokens"] = 16, ["total_tokens"] = 28 },
        }.ToJsonString();
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
