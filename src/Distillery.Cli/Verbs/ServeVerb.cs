using System;
using System.CommandLine;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Models.Decoding;
using Distillery.Models.Loading;
using Distillery.Models.Runtime;
using Distillery.Models.Tokenizers;
using Distillery.Server;
using Spectre.Console;

namespace Distillery.Cli.Verbs;

/// <summary><c>distill serve</c>: an OpenAI-compatible HTTP server over a local model.</summary>
public sealed class ServeVerb(CliContext context) : IVerb
{
    /// <inheritdoc />
    public Command Build()
    {
        var model = new Option<string>("--model") { Description = "Model spec: llama2c:PATH, checkpoint:DIR or gguf:PATH", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer file or folder, where not found beside the model" };
        var host = new Option<string>("--host") { Description = "Address to bind (loopback unless you say otherwise)", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port to bind; 0 picks a free one", DefaultValueFactory = _ => 8080 };
        var apiKeyEnv = new Option<string?>("--api-key-env") { Description = "Require clients to send the key held in this environment variable" };
        var name = new Option<string?>("--name") { Description = "Model id clients name (default: the model file or folder name)" };
        var allowUnauthenticated = new Option<bool>("--allow-unauthenticated") { Description = "Serve a non-loopback --host without --api-key-env: anyone who can reach it may use it" };
        var template = new ChatTemplateOptions();
        var watermark = new WatermarkOptions("Watermark every sample with the key held in this environment variable (Kirchenbauer et al. green list; the key is never written anywhere)", withDelta: true);
        var command = new Command("serve", "Serve a local model over the OpenAI API (chat completions, completions, models)")
        {
            model, tokenizer, host, port, apiKeyEnv, name, allowUnauthenticated,
        };
        var device = new DeviceOption();
        template.AddTo(command);
        watermark.AddTo(command);
        device.AddTo(command);
        command.SetAction(async (parse, ct) => await RunAsync(parse.GetValue(model)!, parse.GetValue(tokenizer), parse.GetValue(host)!, parse.GetValue(port),
            parse.GetValue(apiKeyEnv), parse.GetValue(allowUnauthenticated), parse.GetValue(name), await template.ResolveAsync(parse, ct), watermark.Resolve(parse), device.Parse(parse), ct));
        return command;
    }

    private async Task<int> RunAsync(string spec, string? tokenizer, string host, int port, string? apiKeyEnv, bool allowUnauthenticated, string? name,
        ChatTemplateChoice chatTemplate, GreenListWatermark? watermark, DeviceSpec device, CancellationToken cancellationToken)
    {
        if (port is < 0 or > 65535) throw InputException.InField("--port", "must be between 0 and 65535");
        System.Net.IPAddress? address = null;
        if (host != "localhost" && !System.Net.IPAddress.TryParse(host, out address)) throw InputException.InField("--host", $"'{host}' is not an IP address (or 'localhost')");
        // Loopback is reachable from this machine only; any other address serves the network, which needs a key or an explicit yes.
        var loopback = address is null || System.Net.IPAddress.IsLoopback(address);
        if (!loopback && apiKeyEnv is null && !allowUnauthenticated)
            throw InputException.InField("--api-key-env", $"is required to serve {host}, which other machines can reach; give --api-key-env VAR, or --allow-unauthenticated to serve it open");
        string? apiKey = null;
        if (apiKeyEnv is not null)
        {
            apiKey = Environment.GetEnvironmentVariable(apiKeyEnv);
            if (string.IsNullOrEmpty(apiKey)) throw InputException.InField("--api-key-env", $"the environment variable '{apiKeyEnv}' is not set");
        }
        var on = device.Resolve();
        using var bundle = (await ModelLoader.LoadAsync(spec, tokenizer, cancellationToken)).MoveTo(on);
        chatTemplate.ApplyTo(bundle);
        var id = name ?? ModelId(spec);
        var options = new ServerOptions { Host = host, Port = port, ApiKey = apiKey };
        await using var server = await StartAsync(new ModelBundleService(bundle, id, watermark), options, cancellationToken);
        context.Console.MarkupLine($"Serving [bold]{Markup.Escape(id)}[/] ({bundle.Model.ParameterCount:N0} parameters) at [link]{server.BaseAddress}v1[/]{(apiKey is null ? "" : " (API key required)")}");
        if (watermark is not null) context.Console.MarkupLine(Markup.Escape($"Samples carry a {watermark}."));
        context.Console.MarkupLine("OpenAI base URL: " + Markup.Escape(server.BaseAddress + "v1") + "   Ctrl-C stops.");
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            context.Console.MarkupLine($"Stopped after {server.Stats.Completions} completions ({server.Stats.CompletionTokens} tokens).");
        }
        return ExitCodes.Ok;
    }

    private static async Task<OpenAiServer> StartAsync(ILanguageModelService model, ServerOptions options, CancellationToken cancellationToken)
    {
        try
        {
            return await OpenAiServer.StartAsync(model, options, cancellationToken);
        }
        catch (IOException e)
        {
            throw new DistilleryException($"cannot listen on {options.Host}:{options.Port} ({ErrorText.FirstLine(e)}); choose another --port");
        }
    }

    /// <summary>The default model id: the file or folder name without its extension.</summary>
    public static string ModelId(string spec) => ModelLoader.NameOf(spec);
}
