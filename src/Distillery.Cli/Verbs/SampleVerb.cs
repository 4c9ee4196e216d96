using System;
using System.CommandLine;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Tokens;
using Distillery.Models.Loading;
using Distillery.Models.Runtime;
using Spectre.Console;

namespace Distillery.Cli.Verbs;

/// <summary><c>distill sample</c>: continue a prompt with a local model and print it, optionally with each token's alternatives.</summary>
public sealed class SampleVerb(CliContext context) : IVerb
{
    /// <inheritdoc />
    public Command Build()
    {
        var model = new Option<string>("--model") { Description = "Model spec: llama2c:PATH or checkpoint:DIR", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer file, folder or tiktoken:NAME (default: the model's own)" };
        var prompt = new Option<string>("--prompt") { Description = "Text to continue", DefaultValueFactory = _ => "" };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature; 0 is greedy", DefaultValueFactory = _ => 1.0 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling mass", DefaultValueFactory = _ => 1.0 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "The most tokens to generate", DefaultValueFactory = _ => 256 };
        var seed = new Option<int?>("--seed") { Description = "Seed for reproducible sampling" };
        var topLogprobs = new Option<int>("--top-logprobs") { Description = $"Show each token's K most likely alternatives (0–{SamplingParameters.MaxTopLogprobs})", DefaultValueFactory = _ => 0 };
        var command = new Command("sample", "Continue a prompt with a local model and print the text (and, with --top-logprobs, each token's alternatives)")
        {
            model, tokenizer, prompt, temperature, topP, maxTokens, seed, topLogprobs,
        };
        var device = new DeviceOption();
        device.AddTo(command);
        command.SetAction((parse, ct) => RunAsync(
            parse.GetValue(model)!, parse.GetValue(tokenizer), parse.GetValue(prompt) ?? "", device.Parse(parse),
            new SamplingParameters
            {
                Temperature = parse.GetValue(temperature),
                TopP = parse.GetValue(topP),
                MaxTokens = parse.GetValue(maxTokens),
                Seed = parse.GetValue(seed),
                TopLogprobs = parse.GetValue(topLogprobs),
            },
            ct));
        return command;
    }

    private async Task<int> RunAsync(string modelSpec, string? tokenizer, string prompt, DeviceSpec device, SamplingParameters parameters, CancellationToken cancellationToken)
    {
        parameters.Validate(SamplingFieldNaming.CommandLine);
        var on = device.Resolve();

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.Cancellation);
        using var bundle = (await ModelLoader.LoadAsync(modelSpec, tokenizer, linked.Token)).MoveTo(on);
        var result = await Task.Run(() => bundle.Generate(prompt, parameters, cancellationToken: linked.Token), linked.Token);

        // Written raw, not as a Spectre Text, so long lines are not wrapped and the bytes are the model's (as llama2.c's run prints them).
        var output = context.Console.Profile.Out.Writer;
        await output.WriteAsync(prompt + result.Text + "\n");
        await output.FlushAsync(linked.Token);
        if (parameters.TopLogprobs > 0) context.Console.Write(Table(result.Logprobs));
        return ExitCodes.Ok;
    }

    private static Table Table(System.Collections.Generic.IReadOnlyList<TokenLogprob> tokens)
    {
        var table = new Table().AddColumn("#").AddColumn("token").AddColumn(new TableColumn("logprob").RightAligned()).AddColumn("alternatives (logprob)");
        for (var i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            var alternatives = string.Join("  ", t.TopLogprobs.Select(a => $"{Show(a.Token)} ({a.Logprob:F2})"));
            table.AddRow((i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(Show(t.Token)), t.Logprob.ToString("F3", System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(alternatives));
        }
        return table;
    }

    private static string Show(string token) => "\"" + token.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal) + "\"";
}
