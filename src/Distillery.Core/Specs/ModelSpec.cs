using System;
using System.IO;
using Distillery.Core.Errors;

namespace Distillery.Core.Specs;

/// <summary>The kinds of model a spec can name.</summary>
public enum ModelKind
{
    /// <summary><c>openai:MODEL</c>: an OpenAI-compatible chat completions API.</summary>
    OpenAi,

    /// <summary><c>gguf:PATH</c>: a GGUF file run locally.</summary>
    Gguf,

    /// <summary><c>checkpoint:DIR</c>: a Distillery/Hugging Face model folder.</summary>
    Checkpoint,

    /// <summary><c>llama2c:PATH</c>: a llama2.c checkpoint.</summary>
    Llama2c,
}

/// <summary>
/// A parsed model spec, the one syntax for teachers and students: <c>openai:MODEL</c>, <c>gguf:PATH</c>,
/// <c>checkpoint:DIR</c> or <c>llama2c:PATH</c>; a bare path is taken by what it is (a folder, a .bin or a .gguf file).
/// </summary>
public sealed record ModelSpec(ModelKind Kind, string Target)
{
    /// <summary>The prefix that names the kind; also the provider name recorded with every row.</summary>
    public string Provider => Kind switch
    {
        ModelKind.OpenAi => "openai",
        ModelKind.Gguf => "gguf",
        ModelKind.Checkpoint => "checkpoint",
        _ => "llama2c",
    };

    /// <summary>Whether the spec names weights on this machine rather than an API.</summary>
    public bool IsLocal => Kind != ModelKind.OpenAi;

    /// <summary>A short name: the API model, or the file or folder name without its extension.</summary>
    public string Name => IsLocal ? Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(Target)) : Target;

    /// <summary>Parses a spec; a bad one is an <see cref="InputException"/> naming <paramref name="field"/>.</summary>
    public static ModelSpec Parse(string spec, string field)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return Read(spec, out var problem) ?? throw InputException.InField(field, problem!);
    }

    /// <summary>Parses a spec, or returns null where it is not one (e.g. <c>random:SEED</c>, a model made in memory).</summary>
    public static ModelSpec? TryParse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return Read(spec, out _);
    }

    private static ModelSpec? Read(string spec, out string? problem)
    {
        problem = null;
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        if (colon > 1 && KindOf(spec[..colon]) is { } kind) // "C:\..." is a path, not a kind
        {
            var target = spec[(colon + 1)..].Trim();
            if (target.Length > 0) return new ModelSpec(kind, target);
            problem = $"\"{spec}\" names no {(kind == ModelKind.OpenAi ? "model" : "file")} after the colon";
            return null;
        }
        if (Directory.Exists(spec)) return new ModelSpec(ModelKind.Checkpoint, spec);
        if (File.Exists(spec) && spec.EndsWith(".bin", StringComparison.OrdinalIgnoreCase)) return new ModelSpec(ModelKind.Llama2c, spec);
        if (File.Exists(spec) && spec.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) return new ModelSpec(ModelKind.Gguf, spec);
        problem = $"\"{spec}\" is not a model spec; use openai:MODEL, gguf:PATH, checkpoint:DIR, llama2c:PATH or the path of an existing folder, .bin or .gguf file";
        return null;
    }

    /// <summary>The spec as a string.</summary>
    public override string ToString() => $"{Provider}:{Target}";

    private static ModelKind? KindOf(string prefix) => prefix.ToLowerInvariant() switch
    {
        "openai" => ModelKind.OpenAi,
        "gguf" => ModelKind.Gguf,
        "checkpoint" => ModelKind.Checkpoint,
        "llama2c" => ModelKind.Llama2c,
        _ => null,
    };
}
