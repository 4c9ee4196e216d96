using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Serialization;
using Distillery.Core.Errors;

namespace Distillery.Models.Lora;

/// <summary>
/// Low-rank adaptation (Hu et al. 2021, "LoRA", eq. 3): each targeted linear becomes <c>W x + (alpha/r)·B A x</c> with A (r × in)
/// and B (out × r) trained and W frozen. Targets are the short names of <see cref="LoraTarget"/>.
/// </summary>
public sealed record LoraSettings
{
    /// <summary>The targets used when none are named: the attention projections, as in the LoRA paper.</summary>
    public static IReadOnlyList<string> DefaultTargets { get; } = ["q", "k", "v", "o"];

    /// <summary>The adapters' rank r.</summary>
    [JsonPropertyName("rank")] public int Rank { get; init; } = 8;

    /// <summary>The scale's numerator: the update is multiplied by alpha / r; null means alpha = r (scale 1).</summary>
    [JsonPropertyName("alpha")] public double? Alpha { get; init; }

    /// <summary>Which linears get adapters (q, k, v, o, gate, up, down, lm_head).</summary>
    [JsonPropertyName("targets")] public IReadOnlyList<string> Targets { get; init; } = DefaultTargets;

    /// <summary>alpha, with its default (the rank) applied.</summary>
    [JsonIgnore] public double ResolvedAlpha => Alpha ?? Rank;

    /// <summary>The factor alpha / r that multiplies B·A.</summary>
    [JsonIgnore] public double Scale => ResolvedAlpha / Rank;

    /// <summary>Checks the rank, alpha and target names; a bad one is an <see cref="InputException"/> naming its option.</summary>
    public LoraSettings Validate()
    {
        if (Rank < 1) throw InputException.InField("--lora-rank", $"must be at least 1, not {Rank}");
        if (Alpha is { } a && !(a > 0 && double.IsFinite(a))) throw InputException.InField("--lora-alpha", $"must be positive, not {a}");
        if (Targets.Count == 0) throw InputException.InField("--lora-targets", $"names no target; use some of {string.Join(", ", LoraTarget.Names)}");
        foreach (var name in Targets)
            if (!LoraTarget.Names.Contains(name, StringComparer.Ordinal))
                throw InputException.InField("--lora-targets", $"'{name}' is not a target; use some of {string.Join(", ", LoraTarget.Names)}");
        if (Targets.Distinct(StringComparer.Ordinal).Count() != Targets.Count)
            throw InputException.InField("--lora-targets", $"names a target twice ({string.Join(",", Targets)})");
        return this;
    }

    /// <summary>Parses a comma-separated target list such as <c>q,k,v,o</c>.</summary>
    public static IReadOnlyList<string> ParseTargets(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t => t.ToLowerInvariant()).ToList();
    }
}
