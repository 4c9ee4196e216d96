using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Serialization;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;

namespace Distillery.Teachers.Pool;

/// <summary>One endpoint of a pool: its name, base URL, API-key variable, weight and limits (0: none).</summary>
public sealed record PoolEndpoint
{
    /// <summary>The name rows record as the endpoint that answered.</summary>
    [JsonPropertyName("name")] public required string Name { get; init; }

    /// <summary>The OpenAI-compatible base URL, for example http://10.0.0.5:8000/v1.</summary>
    [JsonPropertyName("base_url")] public required string BaseUrl { get; init; }

    /// <summary>The environment variable that holds this endpoint's API key; none needed on a loopback address.</summary>
    [JsonPropertyName("api_key_env")] public string ApiKeyEnv { get; init; } = "OPENAI_API_KEY";

    /// <summary>Its share of the load against the other endpoints (above 0).</summary>
    [JsonPropertyName("weight")] public double Weight { get; init; } = 1;

    /// <summary>Most requests per minute; 0 for no limit.</summary>
    [JsonPropertyName("requests_per_minute")] public int RequestsPerMinute { get; init; }

    /// <summary>Most tokens (prompt + completion) per minute; 0 for no limit.</summary>
    [JsonPropertyName("tokens_per_minute")] public int TokensPerMinute { get; init; }

    /// <summary>Most requests in flight at once; 0 for no limit.</summary>
    [JsonPropertyName("concurrency")] public int Concurrency { get; init; }
}

/// <summary>The <c>generate --endpoints FILE</c> document: a pool's name (part of every ledger key) and its endpoints.</summary>
public sealed record EndpointPoolFile
{
    /// <summary>The pool's name: ledger keys name the pool, not an endpoint, so any endpoint's answer serves every run of the pool.</summary>
    [JsonPropertyName("name")] public required string Name { get; init; }

    /// <summary>The endpoints, at least one.</summary>
    [JsonPropertyName("endpoints")] public required IReadOnlyList<PoolEndpoint> Endpoints { get; init; }

    /// <summary>Reads and checks a pool file; anything wrong is an <see cref="InputException"/> naming the file and the field.</summary>
    public static EndpointPoolFile Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw InputException.InFile(path, "no such endpoints file");
        EndpointPoolFile? pool;
        try
        {
            pool = JsonSerializer.Deserialize<EndpointPoolFile>(File.ReadAllText(path), DatasetJson.Compact);
        }
        catch (JsonException e)
        {
            throw InputException.InFile(path, $"not an endpoints file ({ErrorText.FirstLine(e)}); see the README's \"A pool of endpoints\"");
        }
        if (pool is null) throw InputException.InFile(path, "is empty; give {\"name\": ..., \"endpoints\": [...]}");
        Check(path, pool);
        return pool;
    }

    private static void Check(string path, EndpointPoolFile pool)
    {
        void Fail(string field, string message) => throw InputException.InFile(path, $"{field}: {message}");
        if (string.IsNullOrWhiteSpace(pool.Name)) Fail("name", "must not be empty");
        if (pool.Endpoints.Count == 0) Fail("endpoints", "must list at least one endpoint");
        for (var i = 0; i < pool.Endpoints.Count; i++)
        {
            var e = pool.Endpoints[i];
            var at = $"endpoints[{i}]";
            if (e is null) Fail(at, "must be an object");
            if (string.IsNullOrWhiteSpace(e!.Name)) Fail($"{at}.name", "must not be empty");
            if (!Uri.TryCreate(e.BaseUrl, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
                Fail($"{at}.base_url", $"\"{e.BaseUrl}\" is not an http(s) URL");
            if (string.IsNullOrWhiteSpace(e.ApiKeyEnv)) Fail($"{at}.api_key_env", "must name an environment variable");
            if (!(e.Weight > 0 && double.IsFinite(e.Weight))) Fail($"{at}.weight", "must be above 0");
            if (e.RequestsPerMinute < 0) Fail($"{at}.requests_per_minute", "must not be negative");
            if (e.TokensPerMinute < 0) Fail($"{at}.tokens_per_minute", "must not be negative");
            if (e.Concurrency < 0) Fail($"{at}.concurrency", "must not be negative");
        }
        if (pool.Endpoints.GroupBy(e => e.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            Fail("endpoints", $"the name \"{twice.Key}\" is used twice");
    }
}
