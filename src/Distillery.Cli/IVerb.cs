using System.CommandLine;

namespace Distillery.Cli;

/// <summary>One <c>distill</c> verb: builds its command, whose action parses, validates and calls library code.</summary>
public interface IVerb
{
    /// <summary>Builds the verb's command with its options and action.</summary>
    Command Build();
}
