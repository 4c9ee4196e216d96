using System.Text.Json.Serialization;

namespace Distillery.Core.Provenance;

/// <summary>Who a teacher is: the provider ("openai", "gguf", ...), the model asked for, and the endpoint (base URL or file) it is reached at.</summary>
public sealed record TeacherIdentity(
    [property: JsonPropertyName("provider")] string Provider,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("endpoint")] string Endpoint)
{
    /// <summary>The teacher as a spec string, <c>provider:model</c>.</summary>
    public override string ToString() => $"{Provider}:{Model}";
}
