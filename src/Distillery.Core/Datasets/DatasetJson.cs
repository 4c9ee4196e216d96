using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distillery.Core.Datasets;

/// <summary>The JSON settings for every Distillery file: snake_case names from attributes, compact lines, readable non-ASCII text.</summary>
public static class DatasetJson
{
    /// <summary>Options for one-line rows.</summary>
    public static JsonSerializerOptions Compact { get; } = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        // A null where the type says there is always a value is a malformed file: a JsonException when read, not a crash later.
        RespectNullableAnnotations = true,
    };

    /// <summary>Options for indented documents (manifests, reports).</summary>
    public static JsonSerializerOptions Indented { get; } = new(Compact) { WriteIndented = true };
}
