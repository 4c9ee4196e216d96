using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace Distillery.Models.Templates.Jinja;

/// <summary>
/// <c>x.name</c>: a mapping's key, a namespace's attribute, or a Python method of strings (<c>startswith</c>,
/// <c>strip</c>, <c>split</c>, ...) and mappings (<c>get</c>, <c>items</c>, <c>keys</c>, <c>values</c>); else undefined.
/// </summary>
internal static class Members
{
    /// <summary>The member, or undefined.</summary>
    public static object? Get(object? target, string name)
    {
        switch (target)
        {
            case OrderedDictionary<string, object?> map:
                if (map.TryGetValue(name, out var value)) return value;
                return (object?)MappingMethod(map, name) ?? Undefined.Instance;
            case Namespace ns:
                return ns.Attributes.TryGetValue(name, out var attribute) ? attribute : Undefined.Instance;
            case string s:
                return (object?)StringMethod(s, name) ?? Undefined.Instance;
            default:
                return Undefined.Instance;
        }
    }

    private static Callable? MappingMethod(OrderedDictionary<string, object?> map, string name) => name switch
    {
        "get" => new Callable("get", a => a.Get(0, "key") is string key && map.TryGetValue(key, out var v) ? v : a.Get(1, "default")),
        "items" => new Callable("items", _ => Filters.Items(map)),
        "keys" => new Callable("keys", _ => map.Keys.Cast<object?>().ToList()),
        "values" => new Callable("values", _ => map.Values.ToList()),
        _ => null,
    };

    private static Callable? StringMethod(string s, string name) => name switch
    {
        "upper" => new Callable(name, _ => s.ToUpperInvariant()),
        "lower" => new Callable(name, _ => s.ToLowerInvariant()),
        "title" => new Callable(name, _ => Title(s)),
        "capitalize" => new Callable(name, _ => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant()),
        "strip" => new Callable(name, a => Strip(s, a.Get(0, "chars"), start: true, end: true)),
        "lstrip" => new Callable(name, a => Strip(s, a.Get(0, "chars"), start: true, end: false)),
        "rstrip" => new Callable(name, a => Strip(s, a.Get(0, "chars"), start: false, end: true)),
        "startswith" => new Callable(name, a => Affixes(a.Get(0, "prefix")).Any(p => s.StartsWith(p, StringComparison.Ordinal))),
        "endswith" => new Callable(name, a => Affixes(a.Get(0, "suffix")).Any(p => s.EndsWith(p, StringComparison.Ordinal))),
        "split" => new Callable(name, a => Split(s, a.Get(0, "sep"), a.Get(1, "maxsplit", -1L) is long m ? m : -1)),
        "replace" => new Callable(name, a => Filters.Replace(s, a.Get(0, "old"), a.Get(1, "new"), a.Get(2, "count"))),
        "find" => new Callable(name, a => (long)s.IndexOf(a.Get(0, "sub") as string ?? "", StringComparison.Ordinal)),
        "count" => new Callable(name, a => (long)Count(s, a.Get(0, "sub") as string ?? "")),
        "join" => new Callable(name, a => string.Join(s, JinjaValues.Iterate(a.Get(0, "iterable")).Select(JinjaValues.ToText))),
        "isdigit" => new Callable(name, _ => s.Length > 0 && s.All(char.IsDigit)),
        "isspace" => new Callable(name, _ => s.Length > 0 && s.All(char.IsWhiteSpace)),
        "format" => new Callable(name, a => Format(s, a.Positional)),
        _ => null,
    };

    private static IEnumerable<string> Affixes(object? value) => value switch
    {
        string s => [s],
        List<object?> list => list.Select(x => x as string ?? throw new InvalidOperationException("startswith/endswith take a string or a tuple of strings")),
        _ => throw new InvalidOperationException("startswith/endswith take a string or a tuple of strings"),
    };

    /// <summary>Python's str.strip family: whitespace, or the given characters.</summary>
    public static string Strip(string s, object? chars, bool start, bool end)
    {
        if (chars is null or Undefined)
        {
            if (start) s = s.TrimStart();
            if (end) s = s.TrimEnd();
            return s;
        }
        var set = (chars as string ?? throw new InvalidOperationException("strip takes a string of characters")).ToCharArray();
        if (start) s = s.TrimStart(set);
        if (end) s = s.TrimEnd(set);
        return s;
    }

    /// <summary>Python's str.split: on whitespace runs without a separator, else on the separator, at most maxsplit times.</summary>
    public static List<object?> Split(string s, object? separator, long maxSplit)
    {
        var result = new List<object?>();
        if (separator is null or Undefined)
        {
            var rest = s.TrimStart();
            while (rest.Length > 0)
            {
                if (maxSplit >= 0 && result.Count >= maxSplit) { result.Add(rest); break; }
                var i = 0;
                while (i < rest.Length && !char.IsWhiteSpace(rest[i])) i++;
                result.Add(rest[..i]);
                rest = rest[i..].TrimStart();
            }
            return result;
        }
        var sep = separator as string ?? throw new InvalidOperationException("split's separator must be a string");
        if (sep.Length == 0) throw new InvalidOperationException("split: empty separator");
        var parts = maxSplit >= 0 ? s.Split(sep, (int)Math.Min(int.MaxValue, maxSplit + 1)) : s.Split(sep);
        result.AddRange(parts);
        return result;
    }

    private static int Count(string s, string sub)
    {
        if (sub.Length == 0) return s.Length + 1;
        int n = 0, i = 0;
        while ((i = s.IndexOf(sub, i, StringComparison.Ordinal)) >= 0) { n++; i += sub.Length; }
        return n;
    }

    /// <summary>Python's str.title: the first letter of each run of letters upper-cased, the rest lower-cased.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        var previousLetter = false;
        foreach (var c in s)
        {
            sb.Append(previousLetter ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            previousLetter = char.IsLetter(c);
        }
        return sb.ToString();
    }

    private static string Format(string s, IReadOnlyList<object?> arguments)
    {
        var sb = new StringBuilder();
        var next = 0;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '{' && i + 1 < s.Length && s[i + 1] == '}') { sb.Append(JinjaValues.ToText(next < arguments.Count ? arguments[next++] : null)); i++; }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }
}
