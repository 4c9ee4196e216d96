using System;
using System.Collections.Generic;
using System.Linq;

namespace Distillery.Models.Templates.Jinja;

/// <summary>Arithmetic, concatenation, comparison, membership, indexing and slicing on template values.</summary>
internal static class Operators
{
    /// <summary><c>left op right</c> for every binary operator except <c>and</c>/<c>or</c> (which short-circuit).</summary>
    public static object? Binary(string op, object? left, object? right)
    {
        switch (op)
        {
            case "==": return JinjaValues.AreEqual(left, right);
            case "!=": return !JinjaValues.AreEqual(left, right);
            case "<": return JinjaValues.Compare(left, right) < 0;
            case ">": return JinjaValues.Compare(left, right) > 0;
            case "<=": return JinjaValues.Compare(left, right) <= 0;
            case ">=": return JinjaValues.Compare(left, right) >= 0;
            case "in": return Contains(right, left);
            case "not in": return !Contains(right, left);
            case "~": return JinjaValues.ToText(left) + JinjaValues.ToText(right);
        }
        if (left is List<object?> a && right is List<object?> b && op == "+") return a.Concat(b).ToList();
        if (op == "+" && (left is string || right is string))
        {
            if (left is Undefined or null || right is Undefined or null)
                throw new InvalidOperationException($"cannot add {JinjaValues.TypeName(left)} and {JinjaValues.TypeName(right)}");
            return JinjaValues.ToText(left) + JinjaValues.ToText(right);
        }
        if (op == "*" && left is string s && right is long n) return string.Concat(Enumerable.Repeat(s, (int)Math.Max(0, n)));
        if (!JinjaValues.IsNumber(left) || !JinjaValues.IsNumber(right))
            throw new InvalidOperationException($"cannot apply '{op}' to {JinjaValues.TypeName(left)} and {JinjaValues.TypeName(right)}");
        var integers = left is long or bool && right is long or bool;
        if (integers)
        {
            long x = (long)JinjaValues.ToDouble(left), y = (long)JinjaValues.ToDouble(right);
            switch (op)
            {
                case "+": return x + y;
                case "-": return x - y;
                case "*": return x * y;
                case "//": return y == 0 ? throw new InvalidOperationException("division by zero") : (long)Math.Floor((double)x / y);
                case "%": return y == 0 ? throw new InvalidOperationException("division by zero") : ((x % y) + y) % y;
                case "**" when y >= 0: return (long)Math.Pow(x, y);
            }
        }
        double p = JinjaValues.ToDouble(left), q = JinjaValues.ToDouble(right);
        return op switch
        {
            "+" => p + q,
            "-" => p - q,
            "*" => p * q,
            "/" => q == 0 ? throw new InvalidOperationException("division by zero") : p / q,
            "//" => q == 0 ? throw new InvalidOperationException("division by zero") : Math.Floor(p / q),
            "%" => q == 0 ? throw new InvalidOperationException("division by zero") : p - (q * Math.Floor(p / q)),
            "**" => Math.Pow(p, q),
            _ => throw new InvalidOperationException($"unknown operator '{op}'"),
        };
    }

    /// <summary><c>item in container</c>: substring, list element, mapping key; nothing is in undefined.</summary>
    public static bool Contains(object? container, object? item) => container switch
    {
        string s => item is string t ? s.Contains(t, StringComparison.Ordinal) : throw new InvalidOperationException($"'in <string>' needs a string, not {JinjaValues.TypeName(item)}"),
        List<object?> list => list.Any(x => JinjaValues.AreEqual(x, item)),
        OrderedDictionary<string, object?> map => item is string key && map.ContainsKey(key),
        Namespace ns => item is string key && ns.Attributes.ContainsKey(key),
        Undefined => false,
        _ => throw new InvalidOperationException($"'in' needs a string, list or mapping on its right, not {JinjaValues.TypeName(container)}"),
    };

    /// <summary><c>target[index]</c>: list and string positions (negative from the end), mapping keys, attributes.</summary>
    public static object? Index(object? target, object? index)
    {
        switch (target)
        {
            case List<object?> list when index is long i:
                if (i < 0) i += list.Count;
                return i >= 0 && i < list.Count ? list[(int)i] : Undefined.Instance;
            case string s when index is long i:
                var chars = JinjaValues.Characters(s);
                if (i < 0) i += chars.Count;
                return i >= 0 && i < chars.Count ? chars[(int)i] : Undefined.Instance;
            case OrderedDictionary<string, object?> map when index is string key:
                return map.TryGetValue(key, out var value) ? value : Members.Get(target, key);
            case Undefined:
                return Undefined.Instance;
            default:
                return index is string name ? Members.Get(target, name) : Undefined.Instance;
        }
    }

    /// <summary>Python's <c>target[start:stop:step]</c> on a list or string.</summary>
    public static object? Slice(object? target, long? start, long? stop, long? step)
    {
        var items = target switch
        {
            List<object?> list => list,
            string s => JinjaValues.Characters(s),
            _ => throw new InvalidOperationException($"cannot slice {JinjaValues.TypeName(target)}"),
        };
        var n = (long)items.Count;
        var k = step ?? 1;
        if (k == 0) throw new InvalidOperationException("slice step cannot be zero");
        long Clamp(long? v, long low, long high, long fallback)
        {
            if (v is not { } x) return fallback;
            if (x < 0) x += n;
            return Math.Clamp(x, low, high);
        }
        var result = new List<object?>();
        if (k > 0)
            for (long i = Clamp(start, 0, n, 0), end = Clamp(stop, 0, n, n); i < end; i += k) result.Add(items[(int)i]);
        else
            for (long i = Clamp(start, -1, n - 1, n - 1), end = Clamp(stop, -1, n - 1, -1); i > end; i += k) result.Add(items[(int)i]);
        return target is string ? string.Concat(result.Cast<string>()) : result;
    }
}
