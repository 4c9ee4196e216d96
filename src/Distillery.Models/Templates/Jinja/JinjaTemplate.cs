using System;
using System.Collections.Generic;

namespace Distillery.Models.Templates.Jinja;

/// <summary>
/// A Jinja template, parsed once and rendered many times: the subset Hugging Face chat templates use (if/for/set/macro,
/// namespace, filters, tests, string methods, loop variables, slicing, whitespace control), with transformers'
/// <c>trim_blocks</c> and <c>lstrip_blocks</c>. Checked byte for byte against @huggingface/jinja.
/// </summary>
public sealed class JinjaTemplate
{
    private readonly IReadOnlyList<Stmt> body;

    private JinjaTemplate(string source, IReadOnlyList<Stmt> body)
    {
        Source = source;
        this.body = body;
    }

    /// <summary>The template's text.</summary>
    public string Source { get; }

    /// <summary>Parses a template; a construct it does not support is a <see cref="JinjaException"/> naming it and its line.</summary>
    public static JinjaTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new JinjaTemplate(source, Parser.Parse(source));
    }

    /// <summary>Renders with the given variables (values as <see cref="JinjaValues"/> describes; see <see cref="JinjaJson.FromNode"/>).</summary>
    public string Render(IReadOnlyDictionary<string, object?> variables, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var globals = new Scope(null);
        foreach (var (name, value) in Globals.Create(time ?? TimeProvider.System)) globals.Set(name, value);
        var scope = new Scope(globals);
        foreach (var (name, value) in variables) scope.Set(name, value);
        return Interpreter.Render(body, scope);
    }
}
