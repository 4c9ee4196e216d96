using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Distillery.Core.Errors;

namespace Distillery.Core.Pipelines;

/// <summary>
/// A pipeline file: named variables and an ordered list of <c>distill</c> commands, each a step any user could run by hand.
/// Strings may use <c>{name}</c> for a variable; <c>{{</c> and <c>}}</c> stand for literal braces.
/// </summary>
public sealed partial record PipelineDefinition
{
    /// <summary>A short name for the pipeline.</summary>
    [JsonPropertyName("name")] public string Name { get; init; } = "pipeline";

    /// <summary>What the pipeline does, for people reading the file.</summary>
    [JsonPropertyName("description")] public string? Description { get; init; }

    /// <summary>Variables the steps use; <c>--set name=value</c> overrides them.</summary>
    [JsonPropertyName("variables")] public Dictionary<string, string> Variables { get; init; } = [];

    /// <summary>The steps, run in order.</summary>
    [JsonPropertyName("steps")] public IReadOnlyList<PipelineStep> Steps { get; init; } = [];

    /// <summary>Reads and checks a pipeline file; errors name the file and the step or field.</summary>
    public static PipelineDefinition Load(string path)
    {
        if (!File.Exists(path)) throw InputException.InFile(path, "no such pipeline file");
        PipelineDefinition? definition;
        try
        {
            definition = JsonSerializer.Deserialize<PipelineDefinition>(File.ReadAllText(path), new JsonSerializerOptions { ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw InputException.InFile(path, $"not a valid pipeline ({ErrorText.FirstLine(e)})");
        }
        // JSON null is accepted by the deserializer wherever a reference goes; each is checked here, not met later as a crash.
        if (definition?.Steps is null || definition.Steps.Count == 0) throw InputException.InFile(path, "has no steps");
        if (definition.Variables is null) throw InputException.InFile(path, "'variables' must be an object of strings");
        foreach (var (name, value) in definition.Variables)
            if (value is null) throw InputException.InFile(path, $"variable '{name}' is null; give it a string");
        for (var i = 0; i < definition.Steps.Count; i++)
        {
            var step = definition.Steps[i];
            if (step is null) throw InputException.InFile(path, $"steps[{i}] is null; a step is an object with 'name' and 'run'");
            if (string.IsNullOrWhiteSpace(step.Name)) throw InputException.InFile(path, $"steps[{i}] has no 'name'");
            if (step.Run is null || step.Run.Count == 0) throw InputException.InFile(path, $"step '{step.Name}' has an empty 'run'");
            if (step.Run.Any(a => a is null)) throw InputException.InFile(path, $"step '{step.Name}' has a null in 'run'; every argument is a string");
        }
        return definition;
    }

    /// <summary>Replaces every <c>{name}</c> in the text; an unknown name is an error naming where it was used.</summary>
    public static string Expand(string text, IReadOnlyDictionary<string, string> variables, string where)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(variables);
        var expanded = VariablePattern().Replace(text, m =>
        {
            if (m.Value == "{{") return "{";
            if (m.Value == "}}") return "}";
            var name = m.Groups[1].Value;
            return variables.TryGetValue(name, out var value)
                ? value
                : throw InputException.InField(where, $"uses the variable '{{{name}}}', which is not defined (known: {string.Join(", ", variables.Keys.Order())}); set it with --set {name}=VALUE");
        });
        return expanded;
    }

    /// <summary>The variables with each value expanded against the others (in file order), then the overrides on top.</summary>
    public IReadOnlyDictionary<string, string> ResolveVariables(IReadOnlyDictionary<string, string> builtIn, IReadOnlyDictionary<string, string> overrides)
    {
        ArgumentNullException.ThrowIfNull(builtIn);
        ArgumentNullException.ThrowIfNull(overrides);
        var resolved = new Dictionary<string, string>(builtIn, StringComparer.Ordinal);
        foreach (var (name, value) in Variables)
            resolved[name] = overrides.TryGetValue(name, out var given) ? given : Expand(value, resolved, $"variables.{name}");
        foreach (var (name, value) in overrides)
            resolved[name] = value;
        return resolved;
    }

    [GeneratedRegex(@"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex VariablePattern();
}

/// <summary>One step: a <c>distill</c> command line, optionally kept running in the background (a server) until the pipeline ends.</summary>
public sealed record PipelineStep
{
    /// <summary>What the step does.</summary>
    [JsonPropertyName("name")] public string Name { get; init; } = "";

    /// <summary>The <c>distill</c> arguments, verb first.</summary>
    [JsonPropertyName("run")] public IReadOnlyList<string> Run { get; init; } = [];

    /// <summary>Keep it running while later steps run (a server), and stop it at the end.</summary>
    [JsonPropertyName("background")] public bool Background { get; init; }

    /// <summary>For a background step: a URL that answers 200 once it is ready.</summary>
    [JsonPropertyName("ready_url")] public string? ReadyUrl { get; init; }

    /// <summary>Skip the step when this variable is "false", "0" or empty.</summary>
    [JsonPropertyName("when")] public string? When { get; init; }
}
