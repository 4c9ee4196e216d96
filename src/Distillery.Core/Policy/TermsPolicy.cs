using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;

namespace Distillery.Core.Policy;

/// <summary>A terms policy: per provider or model, <c>allow</c>, <c>deny</c> or <c>allow-with-notice</c> with a note or URL. The most specific matching rule decides.</summary>
/// <remarks>File shape: <c>{"default":"allow","rules":[{"name":"...","provider":"openai","model":"gpt-4o*","decision":"deny","note":"...","url":"..."}]}</c>.
/// A rule with a model beats one with only a provider; among equals the first in the file wins. With no match the default decides (allow unless set).</remarks>
public sealed class TermsPolicy
{
    private readonly IReadOnlyList<(PolicyRuleFile Rule, string Name, PolicyVerdict Verdict)> rules;
    private readonly PolicyVerdict fallback;

    private TermsPolicy(string source, IReadOnlyList<(PolicyRuleFile, string, PolicyVerdict)> rules, PolicyVerdict fallback)
    {
        Source = source;
        this.rules = rules;
        this.fallback = fallback;
    }

    /// <summary>Where the policy came from (a file path, or "no policy").</summary>
    public string Source { get; }

    /// <summary>A policy that allows every teacher.</summary>
    public static TermsPolicy AllowAll { get; } = new("no policy", [], PolicyVerdict.Allow);

    /// <summary>Reads a policy file; a bad rule is an <see cref="InputException"/> naming the file and the rule.</summary>
    public static async Task<TermsPolicy> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw InputException.InFile(path, "no such policy file");
        PolicyFile? file;
        try
        {
            await using var stream = File.OpenRead(path);
            file = await JsonSerializer.DeserializeAsync<PolicyFile>(stream, cancellationToken: cancellationToken);
        }
        catch (JsonException e)
        {
            throw InputException.InFile(path, $"not a policy file ({ErrorText.FirstLine(e)}); expected {{\"rules\":[{{\"provider\":...,\"decision\":\"allow|deny|allow-with-notice\"}}]}}");
        }
        return Parse(path, file ?? new PolicyFile());
    }

    /// <summary>Parses a policy from JSON text (for tests and embedded policies).</summary>
    public static TermsPolicy FromJson(string source, string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return Parse(source, JsonSerializer.Deserialize<PolicyFile>(json) ?? new PolicyFile());
        }
        catch (JsonException e)
        {
            throw InputException.InFile(source, $"not a policy file ({ErrorText.FirstLine(e)})");
        }
    }

    /// <summary>The decision for a teacher's provider and model.</summary>
    public PolicyDecision Evaluate(string provider, string model)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(model);
        var match = rules
            .Where(r => Glob.IsMatch(r.Rule.Provider ?? "*", provider) && Glob.IsMatch(r.Rule.Model ?? "*", model))
            .OrderByDescending(r => Specificity(r.Rule))
            .Select(r => ((PolicyRuleFile Rule, string Name, PolicyVerdict Verdict)?)r)
            .FirstOrDefault();
        return match is { } m
            ? new PolicyDecision(m.Verdict, $"{Source} {m.Name}", m.Rule.Note, m.Rule.Url)
            : new PolicyDecision(fallback, $"{Source} default", null, null);
    }

    private static int Specificity(PolicyRuleFile rule) =>
        (rule.Model is null || rule.Model == "*" ? 0 : rule.Model.Contains('*', StringComparison.Ordinal) ? 2 : 4)
        + (rule.Provider is null || rule.Provider == "*" ? 0 : 1);

    private static TermsPolicy Parse(string source, PolicyFile file)
    {
        var parsed = new List<(PolicyRuleFile, string, PolicyVerdict)>();
        for (var i = 0; i < file.Rules.Count; i++)
        {
            var rule = file.Rules[i];
            var label = $"rules[{i}]";
            var name = rule.Name ?? $"{rule.Provider ?? "*"}:{rule.Model ?? "*"}";
            if (rule.Provider is null && rule.Model is null) throw InputException.InField($"{source} {label}", "needs \"provider\" or \"model\"");
            parsed.Add((rule, $"{label} ({name})", ParseVerdict($"{source} {label}.decision", rule.Decision)));
        }
        return new TermsPolicy(source, parsed, file.Default is null ? PolicyVerdict.Allow : ParseVerdict($"{source} default", file.Default));
    }

    private static PolicyVerdict ParseVerdict(string where, string? text) => text?.ToLowerInvariant() switch
    {
        "allow" => PolicyVerdict.Allow,
        "allow-with-notice" => PolicyVerdict.AllowWithNotice,
        "deny" => PolicyVerdict.Deny,
        _ => throw InputException.InField(where, $"\"{text}\" is not a decision; use allow, deny or allow-with-notice"),
    };

    private sealed class PolicyFile
    {
        [JsonPropertyName("default")] public string? Default { get; set; }

        [JsonPropertyName("rules")] public List<PolicyRuleFile> Rules { get; set; } = [];
    }

    private sealed class PolicyRuleFile
    {
        [JsonPropertyName("name")] public string? Name { get; set; }

        [JsonPropertyName("provider")] public string? Provider { get; set; }

        [JsonPropertyName("model")] public string? Model { get; set; }

        [JsonPropertyName("decision")] public string? Decision { get; set; }

        [JsonPropertyName("note")] public string? Note { get; set; }

        [JsonPropertyName("url")] public string? Url { get; set; }
    }
}
