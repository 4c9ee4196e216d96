using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Distillery.Models.Templates.Jinja;

/// <summary>The filters of <c>x | NAME(args)</c> that chat templates use, with Jinja's arguments.</summary>
internal static class Filters
{
    private static readonly Dictionary<string, Func<object?, Arguments, object?>> All = new(StringComparer.Ordinal)
    {
        ["trim"] = (x, a) => Members.Strip(Text(x, "trim"), a.Get(0, "chars"), start: true, end: true),
        ["upper"] = (x, _) => Text(x, "upper").ToUpperInvariant(),
        ["lower"] = (x, _) => Text(x, "lower").ToLowerInvariant(),
        ["title"] = (x, _) => Members.Title(Text(x, "title")),
        ["capitalize"] = (x, _) => Text(x, "capitalize") is var s && s.Length > 0 ? char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant() : "",
        ["replace"] = (x, a) => Replace(Text(x, "replace"), a.Get(0, "old"), a.Get(1, "new"), a.Get(2, "count")),
        ["length"] = (x, _) => Length(x),
        ["count"] = (x, _) => Length(x),
        ["string"] = (x, _) => JinjaValues.ToText(x),
        ["safe"] = (x, _) => x,
        ["e"] = (x, _) => x,
        ["escape"] = (x, _) => x,
        ["int"] = (x, a) => ToInt(x, a.Get(0, "default", 0L)),
        ["float"] = (x, a) => ToFloat(x, a.Get(0, "default", 0.0)),
        ["abs"] = (x, _) => x switch { long l => (object?)Math.Abs(l), double d => Math.Abs(d), _ => throw Wrong("abs", x) },
        ["bool"] = (x, _) => JinjaValues.IsTrue(x),
        ["default"] = Default,
        ["d"] = Default,
        ["first"] = (x, _) => JinjaValues.Iterate(x) is { Count: > 0 } items ? items[0] : Undefined.Instance,
        ["last"] = (x, _) => JinjaValues.Iterate(x) is { Count: > 0 } items ? items[^1] : Undefined.Instance,
        ["list"] = (x, _) => x is OrderedDictionary<string, object?> m ? m.Keys.Cast<object?>().ToList() : JinjaValues.Iterate(x).ToList(),
        ["reverse"] = (x, _) => x is string s ? string.Concat(JinjaValues.Characters(s).Cast<string>().Reverse()) : Enumerable.Reverse(JinjaValues.Iterate(x)).ToList(),
        ["join"] = (x, a) => string.Join(Text(a.Get(0, "d", ""), "join"), Attribute(JinjaValues.Iterate(x), a.Get(1, "attribute")).Select(JinjaValues.ToText)),
        ["unique"] = (x, _) => JinjaValues.Iterate(x).Aggregate(new List<object?>(), (acc, v) => { if (!acc.Any(u => JinjaValues.AreEqual(u, v))) acc.Add(v); return acc; }),
        ["sort"] = Sort,
        ["items"] = (x, _) => x is OrderedDictionary<string, object?> m ? Items(m) : x is Undefined ? new List<object?>() : throw Wrong("items", x),
        ["dictsort"] = (x, _) => x is OrderedDictionary<string, object?> m
            ? Items(m).OrderBy(p => (string)((List<object?>)p!)[0]!, StringComparer.OrdinalIgnoreCase).ToList()
            : throw Wrong("dictsort", x),
        ["tojson"] = (x, a) => JinjaJson.Serialize(x, new JsonFormat(
            Indent: a.Get(0, "indent") is long indent ? (int)indent : null,
            ItemSeparator: a.Get(99, "separators") is List<object?> { Count: 2 } sep ? sep[0] as string : null,
            KeySeparator: a.Get(99, "separators") is List<object?> { Count: 2 } sep2 ? sep2[1] as string : null,
            SortKeys: JinjaValues.IsTrue(a.Get(99, "sort_keys", false)),
            EnsureAscii: JinjaValues.IsTrue(a.Get(99, "ensure_ascii", false)))),
        ["indent"] = Indent,
        ["selectattr"] = (x, a) => SelectAttribute(x, a, keep: true),
        ["rejectattr"] = (x, a) => SelectAttribute(x, a, keep: false),
        ["select"] = (x, a) => Select(x, a, keep: true),
        ["reject"] = (x, a) => Select(x, a, keep: false),
        ["map"] = Map,
        ["wordcount"] = (x, _) => (long)Members.Split(Text(x, "wordcount"), null, -1).Count,
        ["center"] = (x, a) => Text(x, "center") is var s && a.Get(0, "width", 80L) is long w && w > s.Length ? s.PadLeft((int)((w - s.Length) / 2) + s.Length).PadRight((int)w) : Text(x, "center"),
        ["min"] = (x, _) => JinjaValues.Iterate(x).Aggregate((m, v) => JinjaValues.Compare(v, m) < 0 ? v : m),
        ["max"] = (x, _) => JinjaValues.Iterate(x).Aggregate((m, v) => JinjaValues.Compare(v, m) > 0 ? v : m),
        ["sum"] = (x, _) => JinjaValues.Iterate(x).Aggregate((object?)0L, (s, v) => Operators.Binary("+", s, v)),
        ["round"] = (x, a) => Math.Round(JinjaValues.ToDouble(x), (int)(a.Get(0, "precision", 0L) as long? ?? 0), MidpointRounding.ToEven),
    };

    /// <summary>Whether a filter of that name exists.</summary>
    public static bool IsKnown(string name) => All.ContainsKey(name);

    /// <summary>Applies a filter.</summary>
    public static object? Apply(string name, object? operand, Arguments arguments) =>
        All.TryGetValue(name, out var filter) ? filter(operand, arguments) : throw new InvalidOperationException($"unsupported filter '{name}'");

    /// <summary>A mapping's (key, value) pairs.</summary>
    public static List<object?> Items(OrderedDictionary<string, object?> map) =>
        map.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList();

    /// <summary>Python's str.replace with an optional count.</summary>
    public static string Replace(string s, object? old, object? replacement, object? count)
    {
        if (old is not string o || replacement is not string r) throw new InvalidOperationException("replace takes two strings");
        var limit = count is long c && c >= 0 ? c : long.MaxValue;
        if (limit == long.MaxValue && o.Length > 0) return s.Replace(o, r, StringComparison.Ordinal);
        var sb = new StringBuilder();
        var i = 0;
        long done = 0;
        if (o.Length == 0)
        {
            // Python inserts the replacement between every character and at both ends.
            foreach (var ch in s)
            {
                if (done++ < limit) sb.Append(r);
                sb.Append(ch);
            }
            if (done < limit) sb.Append(r);
            return sb.ToString();
        }
        while (done < limit)
        {
            var j = s.IndexOf(o, i, StringComparison.Ordinal);
            if (j < 0) break;
            sb.Append(s, i, j - i).Append(r);
            i = j + o.Length;
            done++;
        }
        return sb.Append(s, i, s.Length - i).ToString();
    }

    private static string Text(object? value, string filter) => value switch
    {
        string s => s,
        Undefined => "",
        _ => JinjaValues.ToText(value),
    };

    private static InvalidOperationException Wrong(string filter, object? value) => new($"filter '{filter}' cannot take {JinjaValues.TypeName(value)}");

    private static long Length(object? value) => value switch
    {
        string s => JinjaValues.Characters(s).Count,
        List<object?> list => list.Count,
        OrderedDictionary<string, object?> map => map.Count,
        Undefined => 0,
        _ => throw Wrong("length", value),
    };

    private static object? Default(object? value, Arguments a)
    {
        var fallback = a.Get(0, "default_value", "");
        var boolean = JinjaValues.IsTrue(a.Get(1, "boolean", false));
        return value is Undefined || (boolean && !JinjaValues.IsTrue(value)) ? fallback : value;
    }

    private static object? ToInt(object? value, object? fallback) => value switch
    {
        long l => l,
        double d => (long)Math.Truncate(d),
        bool b => b ? 1L : 0L,
        string s => long.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? l
            : double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? (long)Math.Truncate(d) : fallback,
        _ => fallback,
    };

    private static object? ToFloat(object? value, object? fallback) => value switch
    {
        long l => (double)l,
        double d => d,
        bool b => b ? 1.0 : 0.0,
        string s => double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : fallback,
        _ => fallback,
    };

    private static object? Sort(object? value, Arguments a)
    {
        var reverse = JinjaValues.IsTrue(a.Get(0, "reverse", false));
        var caseSensitive = JinjaValues.IsTrue(a.Get(1, "case_sensitive", false));
        var attribute = a.Get(2, "attribute");
        var items = JinjaValues.Iterate(value).ToList();
        var keys = Attribute(items, attribute).ToList();
        var order = Enumerable.Range(0, items.Count).ToList();
        order.Sort((i, j) => { var c = JinjaValues.Compare(keys[i], keys[j], caseSensitive); return c != 0 ? c : i.CompareTo(j); });
        if (reverse) order.Reverse();
        return order.Select(i => items[i]).ToList();
    }

    private static object? Indent(object? value, Arguments a)
    {
        var s = Text(value, "indent");
        var width = a.Get(0, "width", 4L);
        var pad = width is string w ? w : new string(' ', (int)(width as long? ?? 4));
        var first = JinjaValues.IsTrue(a.Get(1, "first", false));
        var blank = JinjaValues.IsTrue(a.Get(2, "blank", false));
        var lines = s.Split('\n');
        var sb = new StringBuilder();
        for (var i = 0; i < lines.Length; i++)
        {
            if (i > 0) sb.Append('\n');
            var indentThis = (i > 0 || first) && (blank || lines[i].Trim().Length > 0);
            if (indentThis) sb.Append(pad);
            sb.Append(lines[i]);
        }
        return sb.ToString();
    }

    /// <summary>Each item's attribute (a dotted path), or the items themselves where none is named.</summary>
    private static IEnumerable<object?> Attribute(IEnumerable<object?> items, object? attribute) =>
        attribute is string path ? items.Select(item => path.Split('.').Aggregate(item, (v, part) => long.TryParse(part, out var i) ? Operators.Index(v, i) : Members.Get(v, part))) : items;

    private static List<object?> SelectAttribute(object? value, Arguments a, bool keep)
    {
        if (a.Positional.Count < 1) throw new InvalidOperationException("selectattr/rejectattr need an attribute name");
        var attribute = a.Positional[0];
        var items = JinjaValues.Iterate(value);
        var values = Attribute(items, attribute).ToList();
        return items.Where((_, i) => Passes(values[i], a.Positional.Skip(1).ToList()) == keep).ToList();
    }

    private static List<object?> Select(object? value, Arguments a, bool keep) =>
        JinjaValues.Iterate(value).Where(x => Passes(x, a.Positional.ToList()) == keep).ToList();

    /// <summary>A test by name with its arguments (select/selectattr), or plain truth where none is named.</summary>
    private static bool Passes(object? value, List<object?> testAndArguments)
    {
        if (testAndArguments.Count == 0) return JinjaValues.IsTrue(value);
        var name = testAndArguments[0] as string ?? throw new InvalidOperationException("a test name must be a string");
        if (!Tests.IsKnown(name)) throw new InvalidOperationException($"unsupported test '{name}'");
        return Tests.Run(name, value, testAndArguments.Skip(1).ToList());
    }

    private static object? Map(object? value, Arguments a)
    {
        var items = JinjaValues.Iterate(value);
        if (a.Keyword.TryGetValue("attribute", out var attribute))
        {
            var fallback = a.Keyword.TryGetValue("default", out var d) ? d : Undefined.Instance;
            return Attribute(items, attribute).Select(v => v is Undefined ? fallback : v).ToList();
        }
        if (a.Positional.Count < 1 || a.Positional[0] is not string filter) throw new InvalidOperationException("map needs a filter name or attribute=");
        var rest = new Arguments(a.Positional.Skip(1).ToList(), a.Keyword);
        return items.Select(v => Apply(filter, v, rest)).ToList();
    }
}
