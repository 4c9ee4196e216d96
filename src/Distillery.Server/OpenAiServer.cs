using System;
using System.Linq;
using System.Net;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Server.Endpoints;
using Distillery.Server.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Distillery.Server;

/// <summary>An OpenAI-compatible HTTP server (chat completions, completions, models) over one local model.</summary>
public sealed class OpenAiServer : IAsyncDisposable
{
    private readonly WebApplication app;

    private OpenAiServer(WebApplication app, Uri baseAddress, ServerStats stats)
    {
        this.app = app;
        BaseAddress = baseAddress;
        Stats = stats;
    }

    /// <summary>The server's root address, such as <c>http://127.0.0.1:8080/</c>; the OpenAI base URL is this plus <c>v1</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Counts of what the server has answered.</summary>
    public ServerStats Stats { get; }

    /// <summary>Starts serving the model and returns once the socket is bound.</summary>
    public static async Task<OpenAiServer> StartAsync(ILanguageModelService model, ServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders(); // nothing below the CLI writes to the console
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            kestrel.AddServerHeader = false;
            if (options.Host is "localhost") kestrel.ListenLocalhost(options.Port);
            else kestrel.Listen(IPAddress.Parse(options.Host), options.Port);
        });
        var stats = new ServerStats();
        var gate = new SemaphoreSlim(options.MaxConcurrentGenerations);
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            try
            {
                if (options.ApiKey is not null && context.Request.Path.StartsWithSegments("/v1")
                    && context.Request.Headers.Authorization.ToString() != "Bearer " + options.ApiKey)
                    throw new ApiError(401, "Incorrect or missing API key: send it as 'Authorization: Bearer KEY'.", type: "invalid_request_error", code: "invalid_api_key");
                await next(context);
            }
            catch (Exception e) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
            {
                var error = e switch
                {
                    ApiError api => api,
                    BadHttpRequestException bad when bad.StatusCode == 413 => new ApiError(413, $"The request body is larger than {options.MaxRequestBodyBytes} bytes.", "body"),
                    BadHttpRequestException bad => new ApiError(bad.StatusCode, bad.Message, "body"),
                    // A mistake in the request that only the model could see (a token outside its vocabulary, ...) is still the client's.
                    InputException input => new ApiError(400, ErrorText.FirstLine(input)),
                    JsonException json => ApiError.BadField("body", $"The request body is not valid JSON: {ErrorText.FirstLine(json)}"),
                    _ => new ApiError(500, $"The server failed: {ErrorText.FirstLine(e)}", type: "server_error"),
                };
                stats.CountError(error.Status);
                context.Response.StatusCode = error.Status;
                await context.Response.WriteAsJsonAsync(error.ToEnvelope(), context.RequestAborted);
            }
        });
        var endpoints = new CompletionEndpoints(new ChatGeneration(model, gate, stats), options, gate, stats);
        endpoints.Map(app);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new OpenAiServer(app, new Uri(address.TrimEnd('/') + "/"), stats);
    }

    /// <summary>Completes when the server is asked to stop (or the token is cancelled).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => this.app.WaitForShutdownAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await this.app.StopAsync();
        await this.app.DisposeAsync();
    }
}
