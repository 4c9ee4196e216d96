using System.CommandLine;
using System.IO;
using System.Threading.Tasks;
using Distillery.Cli.Pipelines;
using Distillery.Core.Errors;
using Distillery.Core.Pipelines;

namespace Distillery.Cli.Verbs;

/// <summary>
/// <c>distill demo</c>: the whole job offline — a real pretrained teacher served over the OpenAI API, a dataset with logprobs,
/// four students trained four ways, evaluation, GGUF export checked by llama.cpp, and the ledger's audit.
/// <c>demo classic</c> reproduces Hinton et al. (2015).
/// </summary>
public sealed class DemoVerb(CliContext context) : IVerb
{
    /// <inheritdoc />
    public Command Build()
    {
        var output = new Option<string>("--out") { Description = "Folder for the dataset, students, report and GGUF (rerunning resumes)", DefaultValueFactory = _ => Path.Combine("runs", "demo") };
        var teacher = new Option<string?>("--teacher") { Description = "Teacher model spec (default: stories260K from ../shared/data, a llama2.c model)" };
        var quick = new Option<bool>("--quick") { Description = "A reduced run (fewer prompts and steps) that checks the whole pipeline in a few minutes" };
        var set = new Option<string[]>("--set") { Description = "Override a pipeline variable: --set name=value (repeatable)" };
        var command = new Command("demo", "Run the offline end-to-end demo: serve a teacher, generate, train four students, evaluate, export, audit")
        {
            output, teacher, quick, set,
        };
        command.Subcommands.Add(new DemoClassicVerb(context).Build());
        command.SetAction((parse, _) => RunAsync(parse.GetValue(output)!, parse.GetValue(teacher), parse.GetValue(quick), parse.GetValue(set) ?? []));
        return command;
    }

    private async Task<int> RunAsync(string output, string? teacher, bool quick, string[] sets)
    {
        var pipelineDir = Path.Combine(Path.GetFullPath(output), "pipeline");
        var path = EmbeddedDemo.Extract(pipelineDir, quick ? 32 : null);
        var overrides = RunVerb.ParseSets(sets);
        overrides["out"] = Path.GetFullPath(output);
        if (teacher is not null) overrides["teacher_model"] = teacher;
        if (quick)
        {
            overrides.TryAdd("steps", "40");
            overrides.TryAdd("eval_limit", "12");
            overrides.TryAdd("max_tokens", "64");
            overrides.TryAdd("samples", "1");
        }
        var builtIn = PipelineRunner.BuiltInVariables(pipelineDir);
        if (!builtIn.ContainsKey("shared") && !overrides.ContainsKey("teacher_model"))
            throw InputException.InField("--teacher",
                "no teacher: ../shared/data/stories260K was not found. Put a llama2.c model (stories260K.bin with tok512.bin beside it) anywhere and run " +
                "'distill demo --teacher llama2c:PATH', or copy demo/pipeline.json and point its generate step at an API teacher (openai:MODEL with --base-url)");
        var pipeline = PipelineDefinition.Load(path);
        return await PipelineRunner.RunAsync(pipeline, pipeline.ResolveVariables(builtIn, overrides), context);
    }
}
