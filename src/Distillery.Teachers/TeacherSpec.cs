using System;
using Distillery.Core.Errors;

namespace Distillery.Teachers;

/// <summary>The kinds of teacher a spec can name.</summary>
public enum TeacherKind
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

/// <summary>A parsed teacher spec string: <c>openai:MODEL</c>, <c>gguf:PATH</c>, <c>checkpoint:DIR</c> or <c>llama2c:PATH</c>.</summary>
public sealed record TeacherSpec(TeacherKind Kind, string Target)
{
    /// <summary>The provider name recorded with every row.</summary>
    public string Provider => Kind switch
    {
        TeacherKind.OpenAi => "openai",
        TeacherKind.Gguf => "gguf",
        TeacherKind.Checkpoint => "checkpoint",
        _ => "llama2c",
    };

    /// <summary>Parses a spec; a bad one is an <see cref="InputException"/> on <c>--teacher</c>.</summary>
    public static TeacherSpec Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        var prefix = colon < 0 ? "" : spec[..colon];
        var target = colon < 0 ? "" : spec[(colon + 1)..].Trim();
        var kind = prefix.ToLowerInvariant() switch
        {
            "openai" => TeacherKind.OpenAi,
            "gguf" => TeacherKind.Gguf,
            "checkpoint" => TeacherKind.Checkpoint,
            "llama2c" => TeacherKind.Llama2c,
            _ => throw InputException.InField("--teacher", $"\"{spec}\" is not a teacher spec; use openai:MODEL, gguf:PATH, checkpoint:DIR or llama2c:PATH"),
        };
        if (target.Length == 0) throw InputException.InField("--teacher", $"\"{spec}\" names no {(kind == TeacherKind.OpenAi ? "model" : "file")} after the colon");
        return new TeacherSpec(kind, target);
    }

    /// <summary>The spec as a string.</summary>
    public override string ToString() => $"{Provider}:{Target}";
}
