using System.CommandLine;

namespace Distillery.Cli.Verbs;

/// <summary><c>distill demo</c>: worked examples of distillation; <c>demo classic</c> reproduces Hinton et al. (2015).</summary>
public sealed class DemoVerb(CliContext context) : IVerb
{
    /// <inheritdoc />
    public Command Build()
    {
        var command = new Command("demo", "Run a worked distillation example end to end");
        command.Subcommands.Add(new DemoClassicVerb(context).Build());
        return command;
    }
}
