using System.Collections.Generic;

namespace Distillery.Core.Prompts;

/// <summary>The prompts of one file, in file order, with the file's path and SHA-256.</summary>
public sealed record PromptSet(string Path, string Sha256, IReadOnlyList<Prompt> Prompts);
