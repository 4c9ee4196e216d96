using System.Text.Json.Serialization;

namespace Distillery.Core.Datasets.Sidecar;

/// <summary>Where a row's token logprobs lie in the dataset's <c>logprobs.bin</c>: the block's byte offset and length.</summary>
public sealed record LogprobsRef(
    [property: JsonPropertyName("offset")] long Offset,
    [property: JsonPropertyName("length")] int Length)
{
    /// <summary>The byte after the block.</summary>
    [JsonIgnore] public long End => Offset + Length;
}
