using System.Collections.Generic;
using System.Text.Json.Serialization;
using Distillery.Core.Chat;

namespace Distillery.Teachers.Ledger;

/// <summary>A request as the ledger hashes and stores it: the messages, the sampling parameters and the sample number. Never a key or a header.</summary>
public sealed record CanonicalRequest(
    [property: JsonPropertyName("messages")] IReadOnlyList<ChatMessage> Messages,
    [property: JsonPropertyName("sampling")] SamplingParameters Sampling,
    [property: JsonPropertyName("sample")] int Sample);
