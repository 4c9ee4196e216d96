using System;
using Distillery.Core.Chat;

namespace Distillery.Core.Ledger;

/// <summary>One teacher request as the ledger holds it.</summary>
public sealed record LedgerEntry
{
    /// <summary>The request hash (the key).</summary>
    public required string Hash { get; init; }

    /// <summary>The teacher's provider.</summary>
    public required string Provider { get; init; }

    /// <summary>The model asked for.</summary>
    public required string Model { get; init; }

    /// <summary>The endpoint.</summary>
    public required string Endpoint { get; init; }

    /// <summary>The canonical request JSON (messages and sampling parameters; never a key).</summary>
    public required string Request { get; init; }

    /// <summary>Where the request stands.</summary>
    public LedgerStatus Status { get; init; }

    /// <summary>The stored response, once answered: its logprobs at float16 where it was stored compact (<see cref="ResponseCodec"/>).</summary>
    public Completion? Response { get; init; }

    /// <summary>The model as the server reported it.</summary>
    public string? ModelReported { get; init; }

    /// <summary>Tokens used, once answered.</summary>
    public TokenUsage Usage { get; init; } = TokenUsage.Zero;

    /// <summary>Cost in US dollars.</summary>
    public decimal CostUsd { get; init; }

    /// <summary>How many times the request was sent (each run's send counts once; retries within a send are counted in <see cref="Retries"/>).</summary>
    public int Sends { get; init; }

    /// <summary>Retries made while sending.</summary>
    public int Retries { get; init; }

    /// <summary>The last error, when failed.</summary>
    public string? Error { get; init; }

    /// <summary>When first recorded.</summary>
    public DateTimeOffset Created { get; init; }

    /// <summary>When last sent.</summary>
    public DateTimeOffset? Sent { get; init; }

    /// <summary>When answered or failed.</summary>
    public DateTimeOffset? Completed { get; init; }

    /// <summary>Milliseconds from sending to the answer.</summary>
    public double? DurationMs { get; init; }
}
