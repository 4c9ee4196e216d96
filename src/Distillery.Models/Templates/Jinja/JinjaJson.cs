using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Distillery.Models.Templates.Jinja;

/// <summary>How <c>tojson</c> lays JSON out: indent (null: one line), separators, key order, ASCII escaping.</summary>
public sealed record JsonFormat(int? Indent = null, string? ItemSeparator = null, string? KeySeparator = null, bool SortKeys = false, bool EnsureAscii = false)
{
    /// <summary>Python's json.dumps defaults: <c>", "</c> and <c>": "</c> on one line.</summary>
    public static JsonFormat Default { get; } = new();
}

/// <summary>Template values to and from JSON, laid out as Python's <c>json.dumps</c> does (transformers' <c>tojson</c>: non-ASCII kept).</summary>
public static class JinjaJson
{
    /// <summary>A JSON document's value as a template value (objects keep their key order; integral numbers are integers).</summary>
    public static object? FromNode(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => ToMap(o),
        JsonArray a => a.Select(FromNode).ToList(),
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => v.ToJsonString() is var raw && raw.IndexOfAny(['.', 'e', 'E']) < 0 && long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)
                ? (object?)l
                : double.Parse(raw, CultureInfo.InvariantCulture),
            _ => null,
        },
        _ => null,
    };

    private static OrderedDictionary<string, object?> ToMap(JsonObject o)
    {
        var map = JinjaValues.Map();
        foreach (var (key, value) in o) map[key] = FromNode(value);
        return map;
    }

    /// <summary>A value as JSON text (undefined as null).</summary>
    public static string Serialize(object? value, JsonFormat format, bool undefinedAsNull = true)
    {
        var sb = new StringBuilder();
        Write(sb, value, format, 0, undefinedAsNull);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? value, JsonFormat format, int depth, bool undefinedAsNull)
    {
        var itemSeparator = format.ItemSeparator ?? (format.Indent is > 0 ? "," : ", ");
        var keySeparator = format.KeySeparator ?? ": ";
        var indent = format.Indent is > 0 ? new string(' ', format.Indent.Value) : "";
        var basePadding = "\n" + string.Concat(Enumerable.Repeat(indent, depth));
        var childPadding = basePadding + indent;
        switch (value)
        {
            case null: sb.Append("null"); break;
            case Undefined: sb.Append(undefinedAsNull ? "null" : "undefined"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d: sb.Append(double.IsNaN(d) ? "NaN" : double.IsInfinity(d) ? (d > 0 ? "Infinity" : "-Infinity") : JinjaValues.FormatFloat(d)); break;
            case string s: WriteString(sb, s, format.EnsureAscii); break;
            case List<object?> list:
                if (list.Count == 0) { sb.Append("[]"); break; }
                sb.Append('[');
                for (var i = 0; i < list.Count; i++)
                {
                    if (i > 0) sb.Append(itemSeparator);
                    if (indent.Length > 0) sb.Append(childPadding);
                    Write(sb, list[i], format, depth + 1, undefinedAsNull);
                }
                if (indent.Length > 0) sb.Append(basePadding);
                sb.Append(']');
                break;
            case OrderedDictionary<string, object?> or Namespace:
                var map = value as OrderedDictionary<string, object?> ?? ((Namespace)value).Attributes;
                var entries = format.SortKeys ? map.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList() : map.ToList();
                if (entries.Count == 0) { sb.Append("{}"); break; }
                sb.Append('{');
                for (var i = 0; i < entries.Count; i++)
                {
                    if (i > 0) sb.Append(itemSeparator);
                    if (indent.Length > 0) sb.Append(childPadding);
                    WriteString(sb, entries[i].Key, format.EnsureAscii);
                    sb.Append(keySeparator);
                    Write(sb, entries[i].Value, format, depth + 1, undefinedAsNull);
                }
                if (indent.Length > 0) sb.Append(basePadding);
                sb.Append('}');
                break;
            default: throw new InvalidOperationException($"cannot convert {JinjaValues.TypeName(value)} to JSON");
        }
    }

    /// <summary>A JSON string literal as json.dumps writes it (non-ASCII kept unless asked).</summary>
    private static void WriteString(StringBuilder sb, string s, bool ensureAscii)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || (ensureAscii && c >= 0x7f)) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
