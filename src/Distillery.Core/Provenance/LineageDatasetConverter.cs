using System;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distillery.Core.Provenance;

/// <summary>Reads a lineage dataset given as a path string or as an object with <c>"path"</c>; writes the object.</summary>
public sealed class LineageDatasetConverter : JsonConverter<LineageDataset>
{
    /// <inheritdoc />
    public override LineageDataset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String) return new LineageDataset { Path = reader.GetString()! };
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("a dataset must be a path or an object with \"path\"");
        using var document = JsonDocument.ParseValue(ref reader);
        if (!document.RootElement.TryGetProperty("path", out var path) || path.ValueKind != JsonValueKind.String)
            throw new JsonException("a dataset object needs a \"path\" string");
        return new LineageDataset
        {
            Path = path.GetString()!,
            ManifestSha256 = Text(document.RootElement, "manifest_sha256"),
            DataSha256 = Text(document.RootElement, "data_sha256"),
            Rows = Number(document.RootElement, "rows"),
            RowsSkipped = Number(document.RootElement, "rows_skipped"),
            TrainRows = Number(document.RootElement, "train_rows"),
            EvalRows = Number(document.RootElement, "eval_rows"),
            PromptsSha256 = Text(document.RootElement, "prompts_sha256"),
        };
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, LineageDataset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStartObject();
        writer.WriteString("path", value.Path);
        Write(writer, "manifest_sha256", value.ManifestSha256);
        Write(writer, "data_sha256", value.DataSha256);
        Write(writer, "rows", value.Rows);
        Write(writer, "rows_skipped", value.RowsSkipped);
        Write(writer, "train_rows", value.TrainRows);
        Write(writer, "eval_rows", value.EvalRows);
        Write(writer, "prompts_sha256", value.PromptsSha256);
        writer.WriteEndObject();
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long? Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;

    private static void Write(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null) writer.WriteNull(name);
        else writer.WriteString(name, value);
    }

    private static void Write(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is null) writer.WriteNull(name);
        else writer.WriteNumber(name, value.Value);
    }
}
