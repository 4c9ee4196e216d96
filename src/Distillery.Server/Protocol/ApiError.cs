using System;
using System.Text.Json.Serialization;

namespace Distillery.Server.Protocol;

/// <summary>An error answered in OpenAI's JSON shape with an HTTP status.</summary>
public sealed class ApiError : Exception
{
    /// <summary>Creates the error.</summary>
    public ApiError(int status, string message, string? param = null, string type = "invalid_request_error", string? code = null) : base(message)
    {
        Status = status;
        Param = param;
        Type = type;
        Code = code;
    }

    /// <summary>The HTTP status code.</summary>
    public int Status { get; }

    /// <summary>The request field at fault, where there is one.</summary>
    public string? Param { get; }

    /// <summary>OpenAI's error type, such as <c>invalid_request_error</c>.</summary>
    public string Type { get; }

    /// <summary>A machine-readable code, such as <c>model_not_found</c>.</summary>
    public string? Code { get; }

    /// <summary>A 400 naming the bad field.</summary>
    public static ApiError BadField(string param, string message) => new(400, message, param);

    /// <summary>The JSON body.</summary>
    public ErrorEnvelope ToEnvelope() => new(new ErrorBody(Message, Type, Param, Code));
}

/// <summary>OpenAI's error envelope: <c>{"error": {...}}</c>.</summary>
public sealed record ErrorEnvelope([property: JsonPropertyName("error")] ErrorBody Error);

/// <summary>OpenAI's error body.</summary>
public sealed record ErrorBody(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);
