using System.CommandLine;
using Distillery.Models.Runtime;

namespace Distillery.Cli.Verbs;

/// <summary><c>--device auto|cpu|cuda[:N]</c>, the same on every verb that runs a model; <see cref="DeviceSpec"/> parses and resolves it.</summary>
internal sealed class DeviceOption
{
    /// <summary>The option itself (its text stays unparsed where a config file may also set it).</summary>
    public Option<string?> Option { get; } = new(DeviceSpec.OptionName)
    {
        Description = "Where models run: cpu (default) | auto (the first CUDA device, else the CPU) | cuda | cuda:N (needs the CUDA build, -p:TorchBackend=cuda)",
    };

    /// <summary>Adds the option to a command.</summary>
    public void AddTo(Command command) => command.Options.Add(Option);

    /// <summary>The device the command line asks for (cpu when not given); a bad value is one line naming <c>--device</c>.</summary>
    public DeviceSpec Parse(ParseResult parse) => DeviceSpec.Parse(parse.GetValue(Option));
}
