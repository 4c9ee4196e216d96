using System;
using System.Collections.Generic;
using System.Text.Json;
using Distillery.Core.Chat;

namespace Distillery.Server.Protocol;

/// <summary>Reads typed fields from a JSON request body; every error is a 400 that names the field.</summary>
public readonly struct RequestFields(JsonElement root)
{
    /// <summary>The raw body.</summary>
    public JsonElement Root { get; } = root;

    /// <summary>A required string field.</summary>
    public string RequiredString(string name)
    {
        if (!Root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            throw ApiError.BadField(name, $"'{name}' is required");
        if (value.ValueKind != JsonValueKind.String) throw ApiError.BadField(name, $"'{name}' must be a string");
        return value.GetString()!;
    }

    /// <summary>An optional number.</summary>
    public double? Number(string name)
    {
        if (!Present(name, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Number) throw ApiError.BadField(name, $"'{name}' must be a number");
        return value.GetDouble();
    }

    /// <summary>Throws a 400 naming the JSON field of the first sampling parameter outside the limits that every path shares.</summary>
    public static void CheckSampling(SamplingParameters sampling)
    {
        ArgumentNullException.ThrowIfNull(sampling);
        if (sampling.FindProblem() is { } problem) throw ApiError.BadField(problem.Field, $"'{problem.Field}' {problem.Message}");
    }

    /// <summary>An optional integer within [min, max].</summary>
    public int? Integer(string name, long min, long max)
    {
        if (!Present(name, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
            throw ApiError.BadField(name, $"'{name}' must be an integer");
        if (number < min || number > max) throw ApiError.BadField(name, $"'{name}' must be between {min} and {max}, got {number}");
        return (int)number;
    }

    /// <summary>An optional boolean.</summary>
    public bool? Boolean(string name)
    {
        if (!Present(name, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiError.BadField(name, $"'{name}' must be a boolean"),
        };
    }

    /// <summary>The optional <c>stop</c> field: a string or an array of up to four strings.</summary>
    public IReadOnlyList<string> StopStrings(string name = "stop")
    {
        if (!Present(name, out var value)) return [];
        if (value.ValueKind == JsonValueKind.String) return [value.GetString()!];
        if (value.ValueKind != JsonValueKind.Array) throw ApiError.BadField(name, $"'{name}' must be a string or an array of strings");
        var stops = new List<string>();
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw ApiError.BadField(name, $"'{name}' must contain only strings");
            stops.Add(item.GetString()!);
        }
        if (stops.Count > 4) throw ApiError.BadField(name, $"'{name}' may hold at most 4 strings");
        return stops;
    }

    /// <summary>Whether the field is present and not null.</summary>
    public bool Present(string name, out JsonElement value) =>
        Root.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;
}
