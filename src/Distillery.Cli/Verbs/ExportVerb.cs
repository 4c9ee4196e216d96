using System.CommandLine;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Models.Gguf;
using Distillery.Models.Loading;
using Spectre.Console;

namespace Distillery.Cli.Verbs;

/// <summary><c>distill export</c>: a model to GGUF (llama.cpp, Ollama) or a Hugging Face safetensors folder.</summary>
public sealed class ExportVerb(CliContext context) : IVerb
{
    /// <inheritdoc />
    public Command Build()
    {
        var model = new Option<string>("--model") { Description = "Model spec: llama2c:PATH, checkpoint:DIR or gguf:PATH", Required = true };
        var format = new Option<string>("--format") { Description = "gguf or safetensors", Required = true };
        format.AcceptOnlyFromAmong("gguf", "safetensors");
        var output = new Option<string>("--out") { Description = "The .gguf file, or the folder for safetensors", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "Weight precision in the GGUF file: f32 or f16", DefaultValueFactory = _ => "f32" };
        dtype.AcceptOnlyFromAmong("f32", "f16");
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer file or folder, where not found beside the model" };
        var command = new Command("export", "Export a model to GGUF (llama.cpp, Ollama) or to a Hugging Face safetensors folder") { model, format, output, dtype, tokenizer };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(model)!, parse.GetValue(format)!, parse.GetValue(output)!, parse.GetValue(dtype)!, parse.GetValue(tokenizer), ct));
        return command;
    }

    private async Task<int> RunAsync(string spec, string format, string output, string dtype, string? tokenizer, CancellationToken cancellationToken)
    {
        if (format == "safetensors" && dtype != "f32")
            throw InputException.InField("--dtype", "safetensors export keeps the model's float32 weights; --dtype applies to GGUF");
        using var bundle = await ModelLoader.LoadAsync(spec, tokenizer, cancellationToken);
        if (format == "gguf")
        {
            LlamaGguf.Export(bundle.Model, bundle.Tokenizer, output, dtype == "f16" ? GgmlType.F16 : GgmlType.F32, ServeVerb.ModelId(spec));
            context.Console.MarkupLine($"Wrote [bold]{Markup.Escape(output)}[/] (GGUF v3, {dtype}, {new FileInfo(output).Length:N0} bytes)");
        }
        else
        {
            await bundle.SaveAsync(output, cancellationToken: cancellationToken);
            context.Console.MarkupLine($"Wrote [bold]{Markup.Escape(output)}[/] (config.json, model.safetensors, tokenizer)");
        }
        return ExitCodes.Ok;
    }
}
