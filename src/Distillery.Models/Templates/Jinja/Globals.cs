using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Distillery.Models.Templates.Jinja;

/// <summary>The functions every template sees: <c>range</c>, <c>namespace</c>, <c>dict</c>, <c>raise_exception</c>, <c>strftime_now</c>.</summary>
internal static class Globals
{
    /// <summary>The globals, with the clock <c>strftime_now</c> reads.</summary>
    public static Dictionary<string, object?> Create(TimeProvider time) => new(StringComparer.Ordinal)
    {
        ["range"] = new Callable("range", Range),
        ["namespace"] = new Callable("namespace", NewNamespace),
        ["dict"] = new Callable("dict", a => Keywords(a)),
        ["raise_exception"] = new Callable("raise_exception", a =>
            throw new InvalidOperationException($"the template raised an error: {JinjaValues.ToText(a.Get(0, "message"))}")),
        ["strftime_now"] = new Callable("strftime_now", a => Strftime(time.GetLocalNow().DateTime, JinjaValues.ToText(a.Get(0, "format")))),
    };

    private static object? Range(Arguments a)
    {
        var numbers = a.Positional.Select(x => x is long l ? l : throw new InvalidOperationException("range takes integers")).ToList();
        var (start, stop, step) = numbers.Count switch
        {
            1 => (0L, numbers[0], 1L),
            2 => (numbers[0], numbers[1], 1L),
            3 => (numbers[0], numbers[1], numbers[2]),
            _ => throw new InvalidOperationException("range takes 1 to 3 integers"),
        };
        if (step == 0) throw new InvalidOperationException("range's step cannot be zero");
        var result = new List<object?>();
        for (var i = start; step > 0 ? i < stop : i > stop; i += step) result.Add(i);
        return result;
    }

    private static object? NewNamespace(Arguments a)
    {
        var attributes = JinjaValues.Map();
        if (a.Positional.Count > 0 && a.Positional[0] is OrderedDictionary<string, object?> initial)
            foreach (var (key, value) in initial) attributes[key] = value;
        foreach (var (key, value) in a.Keyword) attributes[key] = value;
        return new Namespace(attributes);
    }

    private static OrderedDictionary<string, object?> Keywords(Arguments a)
    {
        var map = JinjaValues.Map();
        foreach (var (key, value) in a.Keyword) map[key] = value;
        return map;
    }

    /// <summary>Python's strftime for the directives templates use (English names).</summary>
    public static string Strftime(DateTime t, string format)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length) { sb.Append(format[i]); continue; }
            var d = format[++i];
            sb.Append(d switch
            {
                'Y' => t.Year.ToString("D4", CultureInfo.InvariantCulture),
                'y' => (t.Year % 100).ToString("D2", CultureInfo.InvariantCulture),
                'm' => t.Month.ToString("D2", CultureInfo.InvariantCulture),
                'd' => t.Day.ToString("D2", CultureInfo.InvariantCulture),
                'e' => t.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2),
                'H' => t.Hour.ToString("D2", CultureInfo.InvariantCulture),
                'M' => t.Minute.ToString("D2", CultureInfo.InvariantCulture),
                'S' => t.Second.ToString("D2", CultureInfo.InvariantCulture),
                'b' => t.ToString("MMM", CultureInfo.InvariantCulture),
                'B' => t.ToString("MMMM", CultureInfo.InvariantCulture),
                'a' => t.ToString("ddd", CultureInfo.InvariantCulture),
                'A' => t.ToString("dddd", CultureInfo.InvariantCulture),
                'j' => t.DayOfYear.ToString("D3", CultureInfo.InvariantCulture),
                '%' => "%",
                _ => "%" + d,
            });
        }
        return sb.ToString();
    }
}
