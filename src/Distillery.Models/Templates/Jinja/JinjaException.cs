using System;

namespace Distillery.Models.Templates.Jinja;

/// <summary>A template that cannot be parsed or rendered: what went wrong and the template line it happened on.</summary>
public sealed class JinjaException : Exception
{
    /// <summary>An error at a template line (1-based).</summary>
    public JinjaException(string reason, int line) : base($"line {line}: {reason}")
    {
        Reason = reason;
        Line = line;
    }

    /// <summary>What went wrong, without the line.</summary>
    public string Reason { get; }

    /// <summary>The template line (1-based).</summary>
    public int Line { get; }
}
