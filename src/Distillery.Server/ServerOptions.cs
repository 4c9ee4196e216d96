namespace Distillery.Server;

/// <summary>How <c>distill serve</c> listens and whom it answers.</summary>
public sealed record ServerOptions
{
    /// <summary>The address to bind; loopback unless the user asks otherwise.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The port to bind; 0 picks a free one.</summary>
    public int Port { get; init; } = 8080;

    /// <summary>The API key clients must send as a bearer token, or null to accept any request.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The largest request body accepted, in bytes; larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>The largest n (completions per request) accepted.</summary>
    public int MaxChoices { get; init; } = 16;

    /// <summary>How many generations run at once; the rest wait in order.</summary>
    public int MaxConcurrentGenerations { get; init; } = 1;
}
