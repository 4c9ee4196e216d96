using System;
using System.CommandLine;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Models.Tokenizers;
using Distillery.Pipeline;
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
        var template = new ChatTemplateOptions();
        template.AddTo(command);
        command.SetAction(async (parse, ct) => await RunAsync(parse.GetValue(model)!, parse.GetValue(format)!, parse.GetValue(output)!, parse.GetValue(dtype)!, parse.GetValue(tokenizer),
            parse.GetValue(verify), await template.ResolveAsync(parse, ct), ct));
        return command;
    }

    private async Task<int> RunAsync(string spec, string format, string output, string dtype, string? tokenizer, bool verify, ChatTemplateChoice chatTemplate,
        CancellationToken cancellationToken)
    {
        var options = new ExportOptions
        {
            Model = spec,
            Format = Enum.Parse<ExportFormat>(format, ignoreCase: true),
            Output = output,
            WeightType = Enum.Parse<ExportWeightType>(dtype, ignoreCase: true),
            Tokenizer = tokenizer,
            Verify = verify,
            ChatTemplate = chatTemplate,
        };
        var result = await DistilleryPipeline.ExportAsync(options, cancellationToken: cancellationToken);
        if (result.Format == ExportFormat.Safetensors)
        {
            context.Console.MarkupLine($"Wrote [bold]{Markup.Escape(output)}[/] (config.json, model.safetensors, tokenizer.json, tokenizer_config.json with the chat template, generation_config.json)");
            return ExitCodes.Ok;
        }
        context.Console.MarkupLine($"Wrote [bold]{Markup.Escape(output)}[/] from {Markup.Escape(result.Source)} (GGUF v3, {result.Architecture}, {dtype}, {result.Bytes:N0} bytes)");
        if (result.Check is { } check) context.Console.MarkupLine(Describe(check, result.WeightType));
        return ExitCodes.Ok;
    }

    /// <summary>What llama.cpp's run of the file showed: identical greedy tokens (f32, f16), or where a quantised file leaves f32 and by how much.</summary>
    private static string Describe(GgufCheck check, ExportWeightType type)
    {
        if (type != ExportWeightType.Q8_0)
            return $"llama.cpp runs it: greedy tokens identical to Distillery's ({check.SamePrefix}/{check.Tokens} for \"{check.Prompt}\")";
        var agreement = check.Identical
            ? $"greedy tokens identical to Distillery's f32 ({check.SamePrefix}/{check.Tokens})"
            : $"greedy tokens leave Distillery's f32 at generated position {check.SamePrefix} of {check.Tokens}";
        return $"llama.cpp runs the q8_0 file: {agreement} for \"{check.Prompt}\"; largest |Δlogit| against f32 {check.LargestLogitError:G3} over {check.Positions} positions";
    }
}
