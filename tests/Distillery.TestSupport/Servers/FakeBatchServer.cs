using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
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

/// <summary>
/// The OpenAI Batch API on 127.0.0.1 (real Kestrel), written from its documentation: files (upload, retrieve, content) and batches
/// (create, retrieve, list, cancel). Each line of a batch is answered by <see cref="FakeOpenAiServer.Answer(JsonNode, string, string)"/>, the chat logic the other
/// tests use. A batch moves on when it is looked at: validating, then in_progress for <see cref="PollsInProgress"/> looks, then final.
/// </summary>
public sealed class FakeBatchServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentDictionary<string, StoredFile> files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, FakeBatch> batches = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> attempts = new(StringComparer.Ordinal);
    private readonly Lock gate = new();
    private int counter;
    private int fileCounter;
    private int dropCreates;
    private readonly TaskCompletionSource contentResumed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private FakeBatchServer(WebApplication app) => this.app = app;

    /// <summary>The base URL, ending in /v1.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The model name the answers report.</summary>
    public string ReportedModel { get; set; } = "fake-gpt-2026-01-01";

    /// <summary>How many times a batch reads in_progress before it is final.</summary>
    public int PollsInProgress { get; set; } = 1;

    /// <summary>When set, a batch answers only this many of its lines and then expires; the rest go in the error file as batch_expired.</summary>
    public int? ExpireAfter { get; set; }

    /// <summary>The HTTP status a line's request gets from (prompt, attempt starting at 1): 200 answers it, others go in the error file.</summary>
    public Func<string, int, int> Status { get; set; } = (_, _) => 200;

    /// <summary>Whether a line's answer is written as a line that is not valid JSON, from (prompt, attempt).</summary>
    public Func<string, int, bool> InvalidJson { get; set; } = (_, _) => false;

    /// <summary>The next <paramref name="count"/> creates make their batch and then drop the connection, so the client never learns the batch id.</summary>
    public void DropCreateResponses(int count) => Volatile.Write(ref dropCreates, count);

    /// <summary>Creates make their batch and then never answer (until the client goes away), so a client killed meanwhile never learned the batch id.</summary>
    public bool HoldCreateResponses { get; set; }

    /// <summary>How many times each custom id was submitted in a created batch (the server-side count of requests sent).</summary>
    public ConcurrentDictionary<string, int> Submitted { get; } = new(StringComparer.Ordinal);

    /// <summary>How many times each prompt was answered with a 200.</summary>
    public ConcurrentDictionary<string, int> AnsweredByPrompt { get; } = new(StringComparer.Ordinal);

    /// <summary>Every batch created, oldest first.</summary>
    public IReadOnlyList<FakeBatch> Batches
    {
        get { lock (gate) return [.. batches.Values.OrderBy(b => b.Number)]; }
    }

    /// <summary>An uploaded file's name and content.</summary>
    public (string Name, string Content) File(string id) => (files[id].Name, Encoding.UTF8.GetString(files[id].Content));

    /// <summary>Where set, an output or error file's content is sent to the end of this many lines, and the rest only once <see cref="ResumeContent"/> is called: a download still under way.</summary>
    public int? PauseContentAfterLines { get; set; }

    /// <summary>Sends the rest of every paused download.</summary>
    public void ResumeContent() => contentResumed.TrySetResult();

    /// <summary>GET: the server-side counts as JSON (<c>distinct</c> custom ids submitted, <c>total</c> submissions, <c>batches</c>), for a server in a process of its own.</summary>
    public const string CountsPath = "/fake/submitted";

    /// <summary>Starts the server on a free loopback port.</summary>
    public static async Task<FakeBatchServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeBatchServer(app);
        app.MapPost("/v1/files", (Func<HttpContext, Task<IResult>>)server.UploadAsync);
        app.MapGet("/v1/files/{id}", (string id) => server.files.TryGetValue(id, out var f) ? Results.Content(f.Json().ToJsonString(), "application/json") : Results.NotFound());
        app.MapGet("/v1/files/{id}/content", (Func<HttpContext, string, Task>)server.ContentAsync);
        app.MapPost("/v1/batches", server.CreateAsync);
        app.MapGet("/v1/batches/{id}", (string id) => server.batches.TryGetValue(id, out var b) ? Json(server.Look(b)) : Results.NotFound());
        app.MapGet("/v1/batches", server.List);
        app.MapPost("/v1/batches/{id}/cancel", (string id) => server.batches.TryGetValue(id, out var b) ? Json(server.Cancel(b)) : Results.NotFound());
        app.MapGet(CountsPath, () => Json(new JsonObject { ["distinct"] = server.Submitted.Count, ["total"] = server.Submitted.Values.Sum(), ["batches"] = server.batches.Count }));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = new Uri(address.TrimEnd('/') + "/v1");
        return server;
    }

    private async Task<IResult> UploadAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        if (form["purpose"] != "batch" || form.Files["file"] is not { } file) return Results.BadRequest(Error("purpose must be batch, with a file"));
        using var content = new MemoryStream();
        await file.CopyToAsync(content);
        var stored = Store(file.FileName, content.ToArray(), "batch");
        return Json(stored.Json());
    }

    private async Task CreateAsync(HttpContext context)
    {
        var request = (await JsonNode.ParseAsync(context.Request.Body))!;
        var inputId = (string)request["input_file_id"]!;
        if (!files.TryGetValue(inputId, out var input) || (string?)request["endpoint"] != "/v1/chat/completions" || (string?)request["completion_window"] != "24h")
        {
            context.Response.StatusCode = 400;
            await context.Response.WriteAsync(Error("bad batch").ToJsonString());
            return;
        }
        var lines = Encoding.UTF8.GetString(input.Content).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        FakeBatch batch;
        lock (gate)
        {
            var number = ++counter;
            batch = new FakeBatch(number, $"batch_{number:D4}", inputId, lines,
                request["metadata"] is JsonObject m ? m.ToDictionary(p => p.Key, p => (string)p.Value!) : []);
            batches[batch.Id] = batch;
        }
        foreach (var line in lines) Submitted.AddOrUpdate((string)line["custom_id"]!, 1, (_, n) => n + 1);
        if (HoldCreateResponses)
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }
        if (Interlocked.Decrement(ref dropCreates) >= 0)
        {
            context.Abort(); // made, but the client never hears of it
            return;
        }
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(Describe(batch).ToJsonString());
    }

    private IResult List(HttpContext context)
    {
        var after = context.Request.Query["after"].ToString();
        var limit = int.TryParse(context.Request.Query["limit"], out var l) ? l : 20;
        var all = Batches.Reverse().ToList(); // newest first
        var start = after.Length == 0 ? 0 : all.FindIndex(b => b.Id == after) + 1;
        var page = all.Skip(start).Take(limit).ToList();
        return Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray([.. page.Select(b => (JsonNode)Describe(b))]),
            ["first_id"] = page.FirstOrDefault()?.Id,
            ["last_id"] = page.LastOrDefault()?.Id,
            ["has_more"] = start + page.Count < all.Count,
        });
    }

    /// <summary>A retrieve: the batch moves one step on, and is answered when it becomes final.</summary>
    private JsonObject Look(FakeBatch batch)
    {
        lock (gate)
        {
            switch (batch.State)
            {
                case "validating":
                    batch.State = "in_progress";
                    break;
                case "in_progress" when ++batch.Looks >= PollsInProgress:
                    Run(batch);
                    break;
                case "cancelling":
                    Finish(batch, "cancelled", answered: 0);
                    break;
            }
            return Describe(batch);
        }
    }

    private JsonObject Cancel(FakeBatch batch)
    {
        lock (gate)
        {
            if (batch.State is "validating" or "in_progress") batch.State = "cancelling";
            return Describe(batch);
        }
    }

    /// <summary>Answers the batch's lines (up to <see cref="ExpireAfter"/>) through the fake chat logic and writes its output and error files.</summary>
    private void Run(FakeBatch batch) => Finish(batch, ExpireAfter is null ? "completed" : "expired", ExpireAfter ?? batch.Lines.Count);

    private void Finish(FakeBatch batch, string state, int answered)
    {
        var output = new StringBuilder();
        var errors = new StringBuilder();
        for (var i = 0; i < batch.Lines.Count; i++)
        {
            var line = batch.Lines[i];
            var id = (string)line["custom_id"]!;
            if (i >= answered)
            {
                var code = state == "cancelled" ? "batch_cancelled" : "batch_expired";
                errors.Append(new JsonObject { ["id"] = $"req_{i}", ["custom_id"] = id, ["response"] = null, ["error"] = new JsonObject { ["code"] = code, ["message"] = $"This request could not be executed before the batch was {state}." } }.ToJsonString()).Append('\n');
                continue;
            }
            var body = line["body"]!;
            var prompt = FakeOpenAiServer.PromptOf(body);
            var attempt = attempts.AddOrUpdate(prompt, 1, (_, n) => n + 1);
            var status = Status(prompt, attempt);
            if (status != 200)
            {
                errors.Append(new JsonObject
                {
                    ["id"] = $"req_{i}", ["custom_id"] = id, ["error"] = null,
                    ["response"] = new JsonObject { ["status_code"] = status, ["request_id"] = $"r{i}", ["body"] = Error($"status {status} for this request") },
                }.ToJsonString()).Append('\n');
                batch.Failed++;
                continue;
            }
            AnsweredByPrompt.AddOrUpdate(prompt, 1, (_, n) => n + 1);
            batch.Completed++;
            if (InvalidJson(prompt, attempt))
            {
                output.Append("{\"id\":\"req_").Append(i).Append("\",\"custom_id\":\"").Append(id).Append("\",\"response\":{\"status_code\":200,\"bo\n");
                continue;
            }
            var answer = JsonNode.Parse(FakeOpenAiServer.Answer(body, prompt, ReportedModel))!;
            output.Append(new JsonObject
            {
                ["id"] = $"req_{i}", ["custom_id"] = id, ["error"] = null,
                ["response"] = new JsonObject { ["status_code"] = 200, ["request_id"] = $"r{i}", ["body"] = answer },
            }.ToJsonString()).Append('\n');
        }
        if (output.Length > 0) batch.OutputFileId = Store($"{batch.Id}_output.jsonl", Encoding.UTF8.GetBytes(output.ToString()), "batch_output").Id;
        if (errors.Length > 0) batch.ErrorFileId = Store($"{batch.Id}_error.jsonl", Encoding.UTF8.GetBytes(errors.ToString()), "batch_output").Id;
        batch.State = state;
    }

    /// <summary>A file's content, as it goes: a batch's output or error file pausing where <see cref="PauseContentAfterLines"/> says.</summary>
    private async Task ContentAsync(HttpContext context, string id)
    {
        if (!files.TryGetValue(id, out var file))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        context.Response.ContentType = "application/octet-stream";
        var content = file.Content;
        var split = content.Length;
        if (PauseContentAfterLines is { } lines && file.Purpose == "batch_output")
        {
            split = 0;
            for (var n = 0; n < lines && split < content.Length; n++) split = Array.IndexOf(content, (byte)'\n', split) is var end and >= 0 ? end + 1 : content.Length;
        }
        await context.Response.Body.WriteAsync(content.AsMemory(0, split), context.RequestAborted);
        if (split == content.Length) return;
        await context.Response.Body.FlushAsync(context.RequestAborted);
        await contentResumed.Task.WaitAsync(context.RequestAborted);
        await context.Response.Body.WriteAsync(content.AsMemory(split), context.RequestAborted);
    }

    private StoredFile Store(string name, byte[] content, string purpose)
    {
        var file = new StoredFile($"file-{Interlocked.Increment(ref fileCounter):D4}", name, content, purpose);
        files[file.Id] = file;
        return file;
    }

    private static JsonObject Describe(FakeBatch b) => new()
    {
        ["id"] = b.Id,
        ["object"] = "batch",
        ["endpoint"] = "/v1/chat/completions",
        ["errors"] = null,
        ["input_file_id"] = b.InputFileId,
        ["completion_window"] = "24h",
        ["status"] = b.State,
        ["output_file_id"] = b.OutputFileId,
        ["error_file_id"] = b.ErrorFileId,
        ["created_at"] = 1_764_000_000 + b.Number,
        ["in_progress_at"] = null,
        ["expires_at"] = 1_764_086_400 + b.Number,
        ["finalizing_at"] = null,
        ["completed_at"] = null,
        ["failed_at"] = null,
        ["expired_at"] = null,
        ["cancelling_at"] = null,
        ["cancelled_at"] = null,
        ["request_counts"] = new JsonObject { ["total"] = b.Lines.Count, ["completed"] = b.Completed, ["failed"] = b.Failed },
        ["metadata"] = new JsonObject([.. b.Metadata.Select(p => new KeyValuePair<string, JsonNode?>(p.Key, p.Value))]),
    };

    private static JsonObject Error(string message) => new() { ["error"] = new JsonObject { ["message"] = message, ["type"] = "invalid_request_error" } };

    private static IResult Json(JsonObject value) => Results.Content(value.ToJsonString(), "application/json");

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await app.StopAsync(stop.Token);
        await app.DisposeAsync();
    }

    private sealed record StoredFile(string Id, string Name, byte[] Content, string Purpose)
    {
        public JsonObject Json() => new()
        {
            ["id"] = Id, ["object"] = "file", ["bytes"] = Content.Length, ["created_at"] = 1_764_000_000, ["filename"] = Name, ["purpose"] = Purpose, ["status"] = "processed",
        };
    }
}

/// <summary>A batch as the fake server holds it.</summary>
public sealed class FakeBatch(int number, string id, string inputFileId, List<JsonNode> lines, Dictionary<string, string> metadata)
{
    public int Number { get; } = number;
    public string Id { get; } = id;
    public string InputFileId { get; } = inputFileId;
    public List<JsonNode> Lines { get; } = lines;
    public Dictionary<string, string> Metadata { get; } = metadata;
    public string State { get; set; } = "validating";
    public int Looks { get; set; }
    public int Completed { get; set; }
    public int Failed { get; set; }
    public string? OutputFileId { get; set; }
    public string? ErrorFileId { get; set; }
}
