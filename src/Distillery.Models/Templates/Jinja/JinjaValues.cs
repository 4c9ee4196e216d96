using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Distillery.Models.Templates.Jinja;

/// <summary>A name that has no value: falsy, renders as nothing, <c>is defined</c> is false.</summary>
public sealed class Undefined
{
    private Undefined() { }

    /// <summary>The one undefined value.</summary>
    public static Undefined Instance { get; } = new();
}

/// <summary>The object <c>namespace(...)</c> makes: attributes a loop body can assign to (<c>set ns.x = ...</c>).</summary>
public sealed class Namespace(OrderedDictionary<string, object?> attributes)
{
    /// <summary>Its attributes.</summary>
    public OrderedDictionary<string, object?> Attributes { get; } = attributes;
}

/// <summary>A call's arguments: positional, then keyword.</summary>
public sealed record Arguments(IReadOnlyList<object?> Positional, IReadOnlyDictionary<string, object?> Keyword)
{
    /// <summary>The argument at a position, else the keyword argument of that name, else the fallback.</summary>
    public object? Get(int position, string name, object? fallback = null) =>
        position < Positional.Count ? Positional[position] : Keyword.TryGetValue(name, out var v) ? v : fallback;
}

/// <summary>A function a template can call: globals, macros, bound methods.</summary>
public sealed class Callable(string name, Func<Arguments, object?> invoke)
{
    /// <summary>Its name, for messages.</summary>
    public string Name { get; } = name;

    /// <summary>Calls it.</summary>
    public object? Invoke(Arguments arguments) => invoke(arguments);
}

/// <summary>
/// The value model: undefined (<see cref="Undefined"/>), none (null), bool, long, double, string, lists
/// (<c>List&lt;object?&gt;</c>), mappings (<c>OrderedDictionary&lt;string, object?&gt;</c>), <see cref="Namespace"/>,
/// <see cref="Callable"/>. Truth, text and equality follow @huggingface/jinja, the reference renderer.
/// </summary>
public static class JinjaValues
{
    /// <summary>Python truthiness: empty strings, lists and mappings, zero, none and undefined are false.</summary>
    public static bool IsTrue(object? value) => value switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> list => list.Count > 0,
        OrderedDictionary<string, object?> map => map.Count > 0,
        _ => true,
    };

    /// <summary>How <c>{{ value }}</c> prints it, as Python's Jinja2 does: undefined prints nothing, none "None", bools "True"/"False", lists and mappings as Python's repr.</summary>
    public static string ToText(object? value) => value switch
    {
        Undefined => "",
        string s => s,
        _ => Repr(value),
    };

    /// <summary>Python's repr of a value (strings quoted): what printing a list or mapping shows of its items.</summary>
    public static string Repr(object? value) => value switch
    {
        null => "None",
        Undefined => "",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FormatFloat(d),
        string s => ReprString(s),
        List<object?> list => "[" + string.Join(", ", list.Select(Repr)) + "]",
        OrderedDictionary<string, object?> map => "{" + string.Join(", ", map.Select(kv => ReprString(kv.Key) + ": " + Repr(kv.Value))) + "}",
        Namespace ns => "<Namespace " + Repr(ns.Attributes) + ">",
        Callable c => $"<function {c.Name}>",
        _ => value.ToString() ?? "",
    };

    /// <summary>Python's repr of a string: single quotes unless it holds one and no double quote; escapes for backslash and control characters.</summary>
    private static string ReprString(string s)
    {
        var quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        var sb = new StringBuilder().Append(quote);
        foreach (var c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c == quote) sb.Append('\\').Append(c);
                    else if (c < 0x20 || c == 0x7f) sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append(quote).ToString();
    }

    /// <summary>A float as Python's repr writes it: the shortest round-trip digits, ".0" on integral values, exponent form below 1e-4 and from 1e16.</summary>
    public static string FormatFloat(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        // Shortest round-trip digits and the decimal exponent, then laid out as Python's float_repr_style 'short' does.
        var shortest = d.ToString("R", CultureInfo.InvariantCulture);
        var negative = d < 0;
        var (digits, exponent) = Digits(shortest.TrimStart('-'));
        var sb = new StringBuilder();
        if (negative) sb.Append('-');
        if (exponent < -4 || exponent >= 16)
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            sb.Append('e').Append(exponent < 0 ? '-' : '+').Append(Math.Abs(exponent).ToString("D2", CultureInfo.InvariantCulture));
        }
        else if (exponent < 0)
            sb.Append("0.").Append('0', -exponent - 1).Append(digits);
        else if (digits.Length <= exponent + 1)
            sb.Append(digits).Append('0', exponent + 1 - digits.Length).Append(".0");
        else
            sb.Append(digits, 0, exponent + 1).Append('.').Append(digits, exponent + 1, digits.Length - exponent - 1);
        return sb.ToString();
    }

    /// <summary>The significant digits (no leading or trailing zeros) and the decimal exponent of the first, from .NET's round-trip text.</summary>
    private static (string Digits, int Exponent) Digits(string text)
    {
        var e = text.IndexOfAny(['E', 'e']);
        var exponent = e >= 0 ? int.Parse(text[(e + 1)..], CultureInfo.InvariantCulture) : 0;
        var mantissa = e >= 0 ? text[..e] : text;
        var dot = mantissa.IndexOf('.');
        var intPart = dot >= 0 ? mantissa[..dot] : mantissa;
        var all = intPart + (dot >= 0 ? mantissa[(dot + 1)..] : "");
        var lead = all.Length - all.TrimStart('0').Length;
        exponent += intPart.Length - 1 - lead;
        var digits = all.Trim('0');
        return (digits.Length == 0 ? "0" : digits, exponent);
    }

    /// <summary>Python equality: numbers by value (1 == 1.0), strings ordinally, lists and mappings element by element.</summary>
    public static bool AreEqual(object? a, object? b)
    {
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a) == ToDouble(b);
        return (a, b) switch
        {
            (null, null) => true,
            (Undefined, Undefined) => true,
            (string x, string y) => string.Equals(x, y, StringComparison.Ordinal),
            (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => AreEqual(p.First, p.Second)),
            (OrderedDictionary<string, object?> x, OrderedDictionary<string, object?> y) =>
                x.Count == y.Count && x.All(kv => y.TryGetValue(kv.Key, out var v) && AreEqual(kv.Value, v)),
            _ => ReferenceEquals(a, b),
        };
    }

    /// <summary>Orders two numbers or two strings; anything else cannot be compared.</summary>
    public static int Compare(object? a, object? b, bool caseSensitive = true)
    {
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a).CompareTo(ToDouble(b));
        if (a is string x && b is string y)
            return caseSensitive ? string.CompareOrdinal(x, y) : string.CompareOrdinal(x.ToLowerInvariant(), y.ToLowerInvariant());
        throw new InvalidOperationException($"cannot compare {TypeName(a)} with {TypeName(b)}");
    }

    /// <summary>Whether a value is a number (bools count, as in Python).</summary>
    public static bool IsNumber(object? value) => value is long or double or bool;

    /// <summary>A number (or bool) as a double.</summary>
    public static double ToDouble(object? value) => value switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new InvalidOperationException($"{TypeName(value)} is not a number"),
    };

    /// <summary>The items a for loop visits: a list's elements, a mapping's keys, a string's characters; none for undefined.</summary>
    public static List<object?> Iterate(object? value) => value switch
    {
        List<object?> list => list,
        OrderedDictionary<string, object?> map => map.Keys.Cast<object?>().ToList(),
        string s => Characters(s),
        Undefined => [],
        _ => throw new InvalidOperationException($"{TypeName(value)} is not iterable"),
    };

    /// <summary>A string's characters (as text elements of one UTF-16 code unit, as JavaScript iterates them by code point).</summary>
    public static List<object?> Characters(string s)
    {
        var result = new List<object?>();
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { result.Add(s.Substring(i, 2)); i++; }
            else result.Add(s[i].ToString());
        }
        return result;
    }

    /// <summary>The type's name as messages give it.</summary>
    public static string TypeName(object? value) => value switch
    {
        null => "none",
        Undefined => "undefined",
        bool => "boolean",
        long => "integer",
        double => "float",
        string => "string",
        List<object?> => "list",
        OrderedDictionary<string, object?> => "mapping",
        Namespace => "namespace",
        Callable => "function",
        _ => value.GetType().Name,
    };

    /// <summary>A new mapping.</summary>
    public static OrderedDictionary<string, object?> Map() => new(StringComparer.Ordinal);
}
