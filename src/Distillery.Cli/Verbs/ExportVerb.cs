using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Evaluation.Reports;
using Distillery.Models.Gguf;
using Distillery.Models.Loading;
using Distillery.Models.Tokenizers;
using Distillery.Teachers.Gguf;
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
        var verify = new Option<bool>("--verify") { Description = "Run the GGUF in llama.cpp and check its greedy tokens equal Distillery's" };
        var command = new Command("export", "Export a model to GGUF (llama.cpp, Ollama) or to a Hugging Face safetensors folder. --model best-of:REPORT_DIR picks the best student of an eval report")
        {
            model, format, output, dtype, tokenizer, verify,
        };
        var template = new ChatTemplateOptions();
        template.AddTo(command);
        command.SetAction(async (parse, ct) => await RunAsync(parse.GetValue(model)!, parse.GetValue(format)!, parse.GetValue(output)!, parse.GetValue(dtype)!, parse.GetValue(tokenizer),
            parse.GetValue(verify), await template.ResolveAsync(parse, ct), ct));
        return command;
    }

    private async Task<int> RunAsync(string spec, string format, string output, string dtype, string? tokenizer, bool verify, ChatTemplateChoice chatTemplate,
        CancellationToken cancellationToken)
    {
        if (format == "safetensors" && dtype != "f32")
            throw InputException.InField("--dtype", "safetensors export keeps the model's float32 weights; --dtype applies to GGUF");
        if (verify && format != "gguf") throw InputException.InField("--verify", "checks GGUF files with llama.cpp; use it with --format gguf");
        spec = await ResolveBestOfAsync(spec, cancellationToken);
        using var bundle = await ModelLoader.LoadAsync(spec, tokenizer, cancellationToken);
        chatTemplate.ApplyTo(bundle);
        if (format == "gguf")
        {
            LlamaGguf.Export(bundle.Model, bundle.Tokenizer, output, dtype == "f16" ? GgmlType.F16 : GgmlType.F32, ServeVerb.ModelId(spec), bundle.ChatTemplate.Source);
            context.Console.MarkupLine($"Wrote [bold]{Markup.Escape(output)}[/] from {Markup.Escape(spec)} (GGUF v3, {dtype}, {new FileInfo(output).Length:N0} bytes)");
            if (verify) return Verify(bundle, output);
        }
        else
        {
            await bundle.SaveAsync(output, cancellationToken: cancellationToken);
            context.Console.MarkupLine($"Wrote [bold]{Markup.Escape(output)}[/] (config.json, model.safetensors, tokenizer, chat template)");
        }
        return ExitCodes.Ok;
    }

    private int Verify(ModelBundle bundle, string gguf)
    {
        const string prompt = "Once upon a time";
        var ids = bundle.EncodePrompt(prompt);
        var ours = bundle.Generate(ids, new SamplingParameters { Temperature = 0, MaxTokens = 32 }).TokenIds;
        using var llama = LlamaCppModel.Load(gguf, contextSize: Math.Min(bundle.Config.MaxPositionEmbeddings, 2048));
        var theirs = llama.Greedy(ids, ours.Count);
        var same = ours.Zip(theirs).TakeWhile(p => p.First == p.Second).Count();
        if (same == ours.Count && theirs.Count == ours.Count)
        {
            context.Console.MarkupLine($"llama.cpp runs it: greedy tokens identical to Distillery's ({same}/{ours.Count} for \"{prompt}\")");
            return ExitCodes.Ok;
        }
        throw new DistilleryException($"llama.cpp's greedy tokens differ from Distillery's after {same} of {ours.Count} tokens for \"{prompt}\"");
    }

    /// <summary>Resolves <c>best-of:REPORT_DIR</c> to the spec of the best student an eval report names.</summary>
    private static async Task<string> ResolveBestOfAsync(string spec, CancellationToken cancellationToken)
    {
        if (!spec.StartsWith("best-of:", StringComparison.Ordinal)) return spec;
        return (await BestStudent.ReadAsync(spec["best-of:".Length..], cancellationToken)).Spec;
    }
}
