using System;
using System.Collections.Generic;
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
        var dtype = new Option<string>("--dtype") { Description = "Weight precision: f32, f16 or q8_0 for GGUF; f32, f16 or bf16 for safetensors", DefaultValueFactory = _ => "f32" };
        dtype.AcceptOnlyFromAmong("f32", "f16", "q8_0", "bf16");
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer file or folder, where not found beside the model" };
        var verify = new Option<bool>("--verify") { Description = "Run the GGUF in llama.cpp: f32/f16 greedy tokens must equal Distillery's; q8_0 reports where they diverge and the largest logit error against f32" };
        var command = new Command("export", "Export a model to GGUF (llama.cpp, Ollama) or to a Hugging Face safetensors folder. --model best-of:REPORT_DIR picks the best student of an eval report")
        {
            model, format, output, dtype, tokenizer, verify,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(model)!, parse.GetValue(format)!, parse.GetValue(output)!, parse.GetValue(dtype)!, parse.GetValue(tokenizer),
            parse.GetValue(verify), ct));
        return command;
    }

    private async Task<int> RunAsync(string spec, string format, string output, string dtype, string? tokenizer, bool verify, CancellationToken cancellationToken)
    {
        if (format == "safetensors" && dtype == "q8_0")
            throw InputException.InField("--dtype", "q8_0 is a GGUF type; safetensors folders hold f32, f16 or bf16");
        if (format == "gguf" && dtype == "bf16")
            throw InputException.InField("--dtype", "GGUF export writes f32, f16 or q8_0");
        if (verify && format != "gguf") throw InputException.InField("--verify", "checks GGUF files with llama.cpp; use it with --format gguf");
        spec = await ResolveBestOfAsync(spec, cancellationToken);
        using var bundle = await ModelLoader.LoadAsync(spec, tokenizer, cancellationToken);
        if (format == "gguf")
        {
            var type = dtype switch { "f16" => GgmlType.F16, "q8_0" => GgmlType.Q8_0, _ => GgmlType.F32 };
            LlamaGguf.Export(bundle.Model, bundle.Tokenizer, output, type, ServeVerb.ModelId(spec));
            context.Console.MarkupLine($"Wrote [bold]{Markup.Escape(output)}[/] from {Markup.Escape(spec)} (GGUF v3, {LlamaGguf.ArchitectureOf(bundle.Config)}, {dtype}, {new FileInfo(output).Length:N0} bytes)");
            if (verify) return type == GgmlType.Q8_0 ? ReportQuantisation(bundle, output) : Verify(bundle, output);
        }
        else
        {
            await bundle.SaveAsync(output, cancellationToken: cancellationToken, dtype: dtype switch
            {
                "f16" => TorchSharp.torch.ScalarType.Float16,
                "bf16" => TorchSharp.torch.ScalarType.BFloat16,
                _ => TorchSharp.torch.ScalarType.Float32,
            });
            context.Console.MarkupLine($"Wrote [bold]{Markup.Escape(output)}[/] (config.json, model.safetensors, tokenizer)");
        }
        return ExitCodes.Ok;
    }

    private const string VerifyPrompt = "Once upon a time";
    private static readonly SamplingParameters VerifyGreedy = new() { Temperature = 0, MaxTokens = 32 };

    /// <summary>f32 and f16: llama.cpp's greedy tokens must equal Distillery's on the weights the file holds (read back by Distillery's own reader).</summary>
    private int Verify(ModelBundle bundle, string gguf)
    {
        var ids = bundle.EncodePrompt(VerifyPrompt);
        var (model, _) = LlamaGguf.Load(gguf);
        IReadOnlyList<int> ours;
        using (var exported = new ModelBundle("gguf:" + gguf, model, bundle.Tokenizer))
            ours = exported.Generate(ids, VerifyGreedy).TokenIds;
        using var llama = LlamaCppModel.Load(gguf, contextSize: Math.Min(bundle.Config.MaxPositionEmbeddings, 2048));
        var theirs = llama.Greedy(ids, ours.Count);
        var same = ours.Zip(theirs).TakeWhile(p => p.First == p.Second).Count();
        if (same == ours.Count && theirs.Count == ours.Count)
        {
            context.Console.MarkupLine($"llama.cpp runs it: greedy tokens identical to Distillery's ({same}/{ours.Count} for \"{VerifyPrompt}\")");
            return ExitCodes.Ok;
        }
        throw new DistilleryException($"llama.cpp's greedy tokens differ from Distillery's after {same} of {ours.Count} tokens for \"{VerifyPrompt}\"");
    }

    /// <summary>q8_0: where llama.cpp's greedy tokens first leave the f32 model's, and the largest logit error against f32 along the f32 model's text.</summary>
    private int ReportQuantisation(ModelBundle bundle, string gguf)
    {
        var ids = bundle.EncodePrompt(VerifyPrompt);
        var ours = bundle.Generate(ids, VerifyGreedy).TokenIds;
        using var llama = LlamaCppModel.Load(gguf, contextSize: Math.Min(bundle.Config.MaxPositionEmbeddings, 2048));
        var theirs = llama.Greedy(ids, ours.Count);
        var same = ours.Zip(theirs).TakeWhile(p => p.First == p.Second).Count();
        var sequence = ids.Concat(ours).ToArray();
        var error = LogitComparison.LargestError(bundle.Model, sequence, llama.Logits(sequence));
        var agreement = same == ours.Count && theirs.Count == ours.Count
            ? $"greedy tokens identical to Distillery's f32 ({same}/{ours.Count})"
            : $"greedy tokens leave Distillery's f32 at generated position {same} of {ours.Count}";
        context.Console.MarkupLine($"llama.cpp runs the q8_0 file: {agreement} for \"{VerifyPrompt}\"; largest |Δlogit| against f32 {error:G3} over {sequence.Length} positions");
        return ExitCodes.Ok;
    }

    /// <summary>Resolves <c>best-of:REPORT_DIR</c> to the spec of the best student an eval report names.</summary>
    private static async Task<string> ResolveBestOfAsync(string spec, CancellationToken cancellationToken)
    {
        if (!spec.StartsWith("best-of:", StringComparison.Ordinal)) return spec;
        return (await BestStudent.ReadAsync(spec["best-of:".Length..], cancellationToken)).Spec;
    }
}
