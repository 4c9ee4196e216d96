using System;
using System.Collections.Generic;

namespace Distillery.Models.Templates.Jinja;

/// <summary>Variables visible at a point of rendering: a for loop or macro call opens a scope; its assignments stay inside it.</summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, object?> variables = new(StringComparer.Ordinal);
    private readonly Scope? outer = parent;

    /// <summary>The variable's value from this scope outwards, or undefined.</summary>
    public object? Lookup(string name)
    {
        for (var s = this; s is not null; s = s.outer)
            if (s.variables.TryGetValue(name, out var value)) return value;
        return Undefined.Instance;
    }

    /// <summary>Assigns in this scope.</summary>
    public void Set(string name, object? value) => variables[name] = value;
}
