using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Threading.Tasks;
using Distillery.Cli.Pipelines;
using Distillery.Core.Errors;
using Distillery.Core.Pipelines;

namespace Distillery.Cli.Verbs;

/// <summary><c>distill run PIPELINE.json</c>: runs a pipeline of distill commands (serve, generate, train, eval, export, audit).</summary>
public sealed class RunVerb(CliContext context) : IVerb
{
    /// <inheritdoc />
    public Command Build()
    {
        var file = new Argument<string>("pipeline") { Description = "The pipeline file (JSON): variables and the distill commands to run" };
        var set = new Option<string[]>("--set") { Description = "Override a variable: --set name=value (repeatable)" };
        var command = new Command("run", "Run a pipeline file: each step is a distill command, run in order") { file, set };
        command.SetAction((parse, _) => RunAsync(parse.GetValue(file)!, parse.GetValue(set) ?? []));
        return command;
    }

    private async Task<int> RunAsync(string path, string[] sets)
    {
        var pipeline = PipelineDefinition.Load(path);
        var variables = pipeline.ResolveVariables(PipelineRunner.BuiltInVariables(Path.GetDirectoryName(Path.GetFullPath(path))!), ParseSets(sets));
        return await PipelineRunner.RunAsync(pipeline, variables, context);
    }

    /// <summary>Parses <c>name=value</c> pairs; a malformed one is a one-line error.</summary>
    public static Dictionary<string, string> ParseSets(IEnumerable<string> sets)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var set in sets)
        {
            var eq = set.IndexOf('=', StringComparison.Ordinal);
            if (eq < 1) throw InputException.InField("--set", $"'{set}' is not name=value");
            result[set[..eq]] = set[(eq + 1)..];
        }
        return result;
    }
}
