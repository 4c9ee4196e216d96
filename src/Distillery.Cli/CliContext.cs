using System.IO;
using System.Threading;
using Spectre.Console;

namespace Distillery.Cli;

/// <summary>What every verb writes to and listens on: the console for results, a writer for errors, and Ctrl-C.</summary>
public sealed record CliContext(IAnsiConsole Console, TextWriter Error, CancellationToken Cancellation);
