using System;
using System.Collections.Generic;
using System.Linq;

namespace Distillery.Models.Templates.Jinja;

/// <summary>The tests of <c>x is NAME</c>: defined, none, string, mapping, iterable, ... as Jinja names them.</summary>
internal static class Tests
{
    private static readonly Dictionary<string, Func<object?, IReadOnlyList<object?>, bool>> All = new(StringComparer.Ordinal)
    {
        ["defined"] = (x, _) => x is not Undefined,
        ["undefined"] = (x, _) => x is Undefined,
        ["none"] = (x, _) => x is null,
        ["string"] = (x, _) => x is string,
        ["number"] = (x, _) => x is long or double,
        ["integer"] = (x, _) => x is long,
        ["float"] = (x, _) => x is double,
        ["boolean"] = (x, _) => x is bool,
        ["true"] = (x, _) => x is true,
        ["false"] = (x, _) => x is false,
        ["mapping"] = (x, _) => x is OrderedDictionary<string, object?>,
        ["iterable"] = (x, _) => x is List<object?> or OrderedDictionary<string, object?> or string,
        ["sequence"] = (x, _) => x is List<object?> or OrderedDictionary<string, object?> or string,
        ["callable"] = (x, _) => x is Callable,
        ["odd"] = (x, _) => x is long l ? l % 2 != 0 : throw new InvalidOperationException($"'is odd' needs an integer, not {JinjaValues.TypeName(x)}"),
        ["even"] = (x, _) => x is long l ? l % 2 == 0 : throw new InvalidOperationException($"'is even' needs an integer, not {JinjaValues.TypeName(x)}"),
        ["divisibleby"] = (x, a) => JinjaValues.ToDouble(x) % JinjaValues.ToDouble(a[0]) == 0,
        ["lower"] = (x, _) => x is string s && s == s.ToLowerInvariant(),
        ["upper"] = (x, _) => x is string s && s == s.ToUpperInvariant(),
        ["eq"] = (x, a) => JinjaValues.AreEqual(x, a[0]),
        ["equalto"] = (x, a) => JinjaValues.AreEqual(x, a[0]),
        ["=="] = (x, a) => JinjaValues.AreEqual(x, a[0]),
        ["ne"] = (x, a) => !JinjaValues.AreEqual(x, a[0]),
        ["!="] = (x, a) => !JinjaValues.AreEqual(x, a[0]),
        ["lt"] = (x, a) => JinjaValues.Compare(x, a[0]) < 0,
        ["<"] = (x, a) => JinjaValues.Compare(x, a[0]) < 0,
        ["le"] = (x, a) => JinjaValues.Compare(x, a[0]) <= 0,
        ["<="] = (x, a) => JinjaValues.Compare(x, a[0]) <= 0,
        ["gt"] = (x, a) => JinjaValues.Compare(x, a[0]) > 0,
        [">"] = (x, a) => JinjaValues.Compare(x, a[0]) > 0,
        ["ge"] = (x, a) => JinjaValues.Compare(x, a[0]) >= 0,
        [">="] = (x, a) => JinjaValues.Compare(x, a[0]) >= 0,
        ["in"] = (x, a) => Operators.Contains(a[0], x),
        ["sameas"] = (x, a) => x is null ? a[0] is null : x is bool b ? a[0] is bool c && b == c : ReferenceEquals(x, a[0]),
    };

    private static readonly HashSet<string> WithArgument =
        ["divisibleby", "eq", "equalto", "==", "ne", "!=", "lt", "<", "le", "<=", "gt", ">", "ge", ">=", "in", "sameas"];

    /// <summary>Whether a test of that name exists.</summary>
    public static bool IsKnown(string name) => All.ContainsKey(name);

    /// <summary>Whether the test compares with an argument (<c>x is eq 3</c>).</summary>
    public static bool TakesArgument(string name) => WithArgument.Contains(name);

    /// <summary>Runs a test.</summary>
    public static bool Run(string name, object? value, IReadOnlyList<object?> arguments)
    {
        if (TakesArgument(name) && arguments.Count < 1) throw new InvalidOperationException($"'is {name}' needs an argument");
        return All[name](value, arguments.ToList());
    }
}
