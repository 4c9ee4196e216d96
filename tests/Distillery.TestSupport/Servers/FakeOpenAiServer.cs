using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
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

namespace Distillery.TestSupport.Servers;

/// <summary>What the fake server does with one request.</summary>
public enum Fault
{
    None,
    RateLimit,
    ServerError,
    Delay,
    Malformed,
    DropMidBody,
    BadRequest,

    /// <summary>A well-formed answer with empty content and no logprobs.</summary>
    Empty,
}

/// <summary>What happened to one request, as the server saw it.</summary>
public sealed record ServerEvent(string Prompt, Fault Fault, string Outcome, DateTimeOffset At);

/// <summary>An OpenAI-compatible chat completions server on 127.0.0.1 (real Kestrel, real sockets) that answers deterministically with logprobs,
/// injects faults on request, can serve a fixed number of requests at once (a model server's capacity), and counts what it answered
/// (also over HTTP, for a server run in a process of its own: <see cref="AnsweredPath"/>, <see cref="ResetPath"/>).</summary>
public sealed class FakeOpenAiServer : IAsyncDisposable
{
    /// <summary>GET: the answers sent since the last reset, as a number.</summary>
    public const string AnsweredPath = "/fake/answered";

    /// <summary>POST: calls <see cref="Reset"/>.</summary>
    public const string ResetPath = "/fake/reset";

    private readonly WebApplication app;
    private SemaphoreSlim? slots;
    private int slotCount;
    private readonly ConcurrentDictionary<string, int> attempts = new(StringComparer.Ordinal);
    private int answeredTotal;
    private int admitted;

    private FakeOpenAiServer(WebApplication app) => this.app = app;

    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The model name the server reports.</summary>
    public string ReportedModel { get; set; } = "fake-gpt-2026-01-01";

    /// <summary>Chooses a fault from (prompt, attempt number starting at 1).</summary>
    public Func<string, int, Fault> Faults { get; set; } = (_, _) => Fault.None;

    /// <summary>The clock that stamps <see cref="Events"/>; a fake one puts arrivals on the same time line as a client driven by it.</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>How long each request takes to serve (in one of the <see cref="Slots"/> where those are limited).</summary>
    public TimeSpan Latency { get; set; } = TimeSpan.Zero;

    /// <summary>How many requests are served at once (the others queue for a slot); 0, the default, serves all at once. Set before the first request.</summary>
    public int Slots
    {
        get => slotCount;
        set
        {
            slotCount = Math.Max(0, value);
            slots = slotCount > 0 ? new SemaphoreSlim(slotCount, slotCount) : null;
        }
    }

    public TimeSpan FaultDelay { get; set; } = TimeSpan.FromSeconds(3);

    public string RetryAfter { get; set; } = "1";

    /// <summary>After this many requests, further requests are held (never answered) until the client goes away; -1 answers all.</summary>
    public int HoldAfter { get; set; } = -1;

    /// <summary>No answer goes out until requests have come with this many different Authorization headers (clients started together:
    /// each has asked before any answer exists); 0, the default, answers at once. Set before the first request.</summary>
    public int WaitForClients { get; set; }

    private readonly TaskCompletionSource clientsArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<ServerEvent> Events { get; } = new();

    public ConcurrentQueue<JsonNode> Bodies { get; } = new();

    public ConcurrentQueue<string> Authorizations { get; } = new();

    public int Held => Events.Count(e => e.Outcome == "held");

    public int Received => Volatile.Read(ref receivedTotal);

    /// <summary>The most requests the server was handling at one time.</summary>
    public int MostInFlight => Volatile.Read(ref mostInFlight);

    private int inFlight;
    private int mostInFlight;

    private int receivedTotal;

    public int AnsweredTotal => Volatile.Read(ref answeredTotal);

    /// <summary>Successful answers per prompt.</summary>
    public IReadOnlyDictionary<string, int> AnsweredByPrompt() =>
        Events.Where(e => e.Outcome == "ok").GroupBy(e => e.Prompt).ToDictionary(g => g.Key, g => g.Count());

    public void Reset()
    {
        Events.Clear();
        Bodies.Clear();
        attempts.Clear();
        Interlocked.Exchange(ref answeredTotal, 0);
        Interlocked.Exchange(ref admitted, 0);
        Interlocked.Exchange(ref receivedTotal, 0);
        Interlocked.Exchange(ref mostInFlight, 0);
    }

    public static async Task<FakeOpenAiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o =>
        {
            o.Listen(IPAddress.Loopback, 0);
            o.Limits.MaxConcurrentConnections = null;
        });
        var app = builder.Build();
        var server = new FakeOpenAiServer(app);
        app.MapPost("/v1/chat/completions", server.HandleAsync);
        app.MapGet(AnsweredPath, () => server.AnsweredTotal);
        app.MapPost(ResetPath, server.Reset);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = new Uri(address.TrimEnd('/') + "/v1");
        return server;
    }

    /// <summary>The completion the server gives a prompt: its words reversed, prefixed "echo", at most max tokens; deterministic.</summary>
    public static IReadOnlyList<string> CompletionTokens(string prompt, int maxTokens)
    {
        var words = prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries).Reverse().ToList();
        var tokens = new List<string> { "echo" };
        tokens.AddRange(words.Select(w => " " + w));
        return tokens.Take(Math.Max(1, maxTokens)).ToList();
    }

    /// <summary>The logprob the server gives token i of a completion, and its top alternatives' (the chosen one first).</summary>
    public static double Logprob(int position, int rank) => -0.05 * (position + 1) - 0.7 * rank;

    private async Task HandleAsync(HttpContext context)
    {
        var now = Interlocked.Increment(ref inFlight);
        for (var seen = Volatile.Read(ref mostInFlight); now > seen; seen = Volatile.Read(ref mostInFlight))
            if (Interlocked.CompareExchange(ref mostInFlight, now, seen) == seen) break;
        try
        {
            await HandleOneAsync(context);
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
        }
    }

    private async Task HandleOneAsync(HttpContext context)
    {
        Interlocked.Increment(ref receivedTotal);
        Authorizations.Enqueue(context.Request.Headers.Authorization.ToString());
        if (WaitForClients > 0)
        {
            if (Authorizations.Distinct(StringComparer.Ordinal).Count() >= WaitForClients) clientsArrived.TrySetResult();
            try
            {
                await clientsArrived.Task.WaitAsync(context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        var body = (await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted))!;
        Bodies.Enqueue(body);
        var prompt = PromptOf(body);
        var attempt = attempts.AddOrUpdate(prompt, 1, (_, n) => n + 1);
        var fault = Faults(prompt, attempt);
        var now = Clock.GetUtcNow();
        await ServeAsync();
        if (HoldAfter >= 0 && Interlocked.Increment(ref admitted) > HoldAfter)
        {
            Events.Enqueue(new ServerEvent(prompt, fault, "held", now));
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                Events.Enqueue(new ServerEvent(prompt, fault, "aborted", Clock.GetUtcNow()));
            }
            return;
        }
        switch (fault)
        {
            case Fault.RateLimit:
                context.Response.StatusCode = 429;
                context.Response.Headers.RetryAfter = RetryAfter;
                await WriteJsonAsync(context, """{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}""");
                Events.Enqueue(new ServerEvent(prompt, fault, "429", now));
                return;
            case Fault.ServerError:
                context.Response.StatusCode = 500;
                await WriteJsonAsync(context, """{"error":{"message":"The server had an error while processing your request.","type":"server_error"}}""");
                Events.Enqueue(new ServerEvent(prompt, fault, "500", now));
                return;
            case Fault.BadRequest:
                context.Response.StatusCode = 400;
                await WriteJsonAsync(context, """{"error":{"message":"This model's maximum context length is 8 tokens.","type":"invalid_request_error"}}""");
                Events.Enqueue(new ServerEvent(prompt, fault, "400", now));
                return;
            case Fault.Empty:
                await WriteJsonAsync(context, """{"id":"chatcmpl-e","object":"chat.completion","created":1764000000,"model":"fake","choices":[{"index":0,"message":{"role":"assistant","content":""},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":0,"total_tokens":1}}""");
                Events.Enqueue(new ServerEvent(prompt, fault, "empty", now));
                return;
            case Fault.Malformed:
                await WriteJsonAsync(context, """{"id":"chatcmpl-x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hal""");
                Events.Enqueue(new ServerEvent(prompt, fault, "malformed", now));
                return;
            case Fault.Delay:
                try
                {
                    await Task.Delay(FaultDelay, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    Events.Enqueue(new ServerEvent(prompt, fault, "aborted", Clock.GetUtcNow()));
                    return;
                }
                break;
            case Fault.DropMidBody:
                {
                    var full = Encoding.UTF8.GetBytes(Answer(body, prompt));
                    context.Response.ContentType = "application/json";
                    context.Response.ContentLength = full.Length;
                    await context.Response.Body.WriteAsync(full.AsMemory(0, full.Length / 2));
                    await context.Response.Body.FlushAsync();
                    context.Abort();
                    Events.Enqueue(new ServerEvent(prompt, fault, "dropped", now));
                    return;
                }
        }
        if (context.RequestAborted.IsCancellationRequested)
        {
            Events.Enqueue(new ServerEvent(prompt, fault, "aborted", Clock.GetUtcNow()));
            return;
        }
        await WriteJsonAsync(context, Answer(body, prompt));
        await context.Response.CompleteAsync();
        Interlocked.Increment(ref answeredTotal);
        Events.Enqueue(new ServerEvent(prompt, fault, "ok", now));
    }

    /// <summary>Takes <see cref="Latency"/> to serve, holding one of the <see cref="Slots"/> meanwhile where those are limited.</summary>
    private async Task ServeAsync()
    {
        var gate = slots;
        if (gate is not null) await gate.WaitAsync(CancellationToken.None);
        try
        {
            if (Latency > TimeSpan.Zero) await Task.Delay(Latency, CancellationToken.None);
        }
        finally
        {
            gate?.Release();
        }
    }

    private string Answer(JsonNode body, string prompt) => Answer(body, prompt, ReportedModel);

    /// <summary>The last user message of a chat completion request body.</summary>
    public static string PromptOf(JsonNode body) =>
        body["messages"]!.AsArray().Last(m => (string?)m!["role"] == "user")!["content"]!.GetValue<string>();

    /// <summary>The chat completion this server answers a request body with (its prompt's words reversed, logprobs as asked), reporting <paramref name="model"/>.</summary>
    public static string Answer(JsonNode body, string prompt, string model)
    {
        var maxTokens = (int?)body["max_completion_tokens"] ?? (int?)body["max_tokens"] ?? 16;
        var topK = (int?)body["top_logprobs"] ?? 0;
        var wantLogprobs = (bool?)body["logprobs"] ?? false;
        var tokens = CompletionTokens(prompt, maxTokens);
        var promptTokens = body["messages"]!.AsArray().Sum(m => ((string)m!["content"]!).Split(' ', StringSplitOptions.RemoveEmptyEntries).Length + 3);
        var content = new JsonArray();
        for (var i = 0; i < tokens.Count; i++)
        {
            var top = new JsonArray();
            for (var r = 0; r < topK; r++)
            {
                var alt = r == 0 ? tokens[i] : $" alt{r}";
                top.Add(new JsonObject { ["token"] = alt, ["logprob"] = Logprob(i, r), ["bytes"] = Bytes(alt) });
            }
            content.Add(new JsonObject { ["token"] = tokens[i], ["logprob"] = Logprob(i, 0), ["bytes"] = Bytes(tokens[i]), ["top_logprobs"] = top });
        }
        var finish = tokens.Count < CompletionTokens(prompt, int.MaxValue).Count ? "length" : "stop";
        var response = new JsonObject
        {
            ["id"] = "chatcmpl-" + Guid.NewGuid().ToString("N"),
            ["object"] = "chat.completion",
            ["created"] = 1_764_000_000,
            ["model"] = model,
            ["system_fingerprint"] = "fp_test",
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = string.Concat(tokens), ["refusal"] = null },
                ["logprobs"] = wantLogprobs ? new JsonObject { ["content"] = content, ["refusal"] = null } : null,
                ["finish_reason"] = finish,
            }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = promptTokens, ["completion_tokens"] = tokens.Count, ["total_tokens"] = promptTokens + tokens.Count },
        };
        return response.ToJsonString();
    }

    private static JsonArray Bytes(string token) => new(Encoding.UTF8.GetBytes(token).Select(b => (JsonNode)JsonValue.Create((int)b)!).ToArray());

    private static async Task WriteJsonAsync(HttpContext context, string json)
    {
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await app.StopAsync(stop.Token);
        await app.DisposeAsync();
    }
}
