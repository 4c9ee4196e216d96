using System;
using System.IO;
using System.Text.Json.Nodes;
using Distillery.Models.Templates.Jinja;

namespace Distillery.Models.Tests.Templates;

/// <summary>The committed reference data of tests/data/chat-templates, as copied beside the test assembly.</summary>
internal static class ChatTemplateData
{
    /// <summary>A file of tests/data/chat-templates.</summary>
    public static string Path(string relative) => System.IO.Path.Combine(AppContext.BaseDirectory, "data", "chat-templates", relative);

    /// <summary>A JSON file of tests/data/chat-templates.</summary>
    public static JsonNode Json(string relative) => JsonNode.Parse(File.ReadAllText(Path(relative)))!;

    /// <summary>A JSON object of variables as template values.</summary>
    public static System.Collections.Generic.Dictionary<string, object?> Variables(JsonObject? variables)
    {
        var result = new System.Collections.Generic.Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in variables ?? []) result[name] = JinjaJson.FromNode(value);
        return result;
    }
}
