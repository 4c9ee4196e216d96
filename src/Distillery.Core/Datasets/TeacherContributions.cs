using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Chat;
using Distillery.Core.Tokens;

namespace Distillery.Core.Datasets;

/// <summary>Sums rows by teacher (provider, requested model, endpoint); rows without provenance count under provider "none".</summary>
public static class TeacherContributions
{
    /// <summary>The contributions of each teacher in the rows, ordered by provider and model.</summary>
    public static IReadOnlyList<TeacherContribution> FromRows(IEnumerable<DatasetRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var tally = new ContributionTally();
        foreach (var row in rows) tally.Add(row);
        return tally.Result();
    }
}

/// <summary>A running sum of rows by teacher, for datasets too large to hold: add rows as they stream past, then read the result. Thread-safe.</summary>
public sealed class ContributionTally
{
    private readonly Dictionary<(string, string, string), Accumulator> groups = [];
    private readonly System.Threading.Lock gate = new();

    /// <summary>Rows added so far.</summary>
    public int Rows { get; private set; }

    /// <summary>Adds one row.</summary>
    public void Add(DatasetRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        lock (gate)
        {
            Rows++;
            var p = row.Distillery;
            var key = p is null ? ("none", "", "") : (p.Teacher.Provider, p.Teacher.RequestedModel, p.Teacher.Endpoint);
            if (!groups.TryGetValue(key, out var acc)) groups[key] = acc = new Accumulator();
            acc.Rows++;
            if (p is null)
            {
                // A row without provenance still trains the student: count its assistant text roughly (TokenEstimate).
                acc.Completion += row.Messages.Where(m => m.Role == "assistant").Sum(m => TokenEstimate.Of(m.Content));
                return;
            }
            acc.Prompt += p.Usage.PromptTokens;
            acc.Completion += p.Usage.CompletionTokens;
            acc.Cost += p.CostUsd;
            acc.Models.Add(p.Teacher.Model);
            acc.First = acc.First is null || p.Timestamp < acc.First ? p.Timestamp : acc.First;
            acc.Last = acc.Last is null || p.Timestamp > acc.Last ? p.Timestamp : acc.Last;
        }
    }

    /// <summary>The contributions so far, ordered by provider, model and endpoint.</summary>
    public IReadOnlyList<TeacherContribution> Result()
    {
        lock (gate)
        {
            return groups.OrderBy(g => g.Key.Item1, StringComparer.Ordinal).ThenBy(g => g.Key.Item2, StringComparer.Ordinal).ThenBy(g => g.Key.Item3, StringComparer.Ordinal)
                .Select(g => new TeacherContribution
                {
                    Provider = g.Key.Item1,
                    RequestedModel = g.Key.Item2,
                    Endpoint = g.Key.Item3,
                    ModelsReported = [.. g.Value.Models.Order(StringComparer.Ordinal)],
                    Rows = g.Value.Rows,
                    Tokens = new TokenUsage((int)g.Value.Prompt, (int)g.Value.Completion),
                    CostUsd = g.Value.Cost,
                    First = g.Value.First,
                    Last = g.Value.Last,
                }).ToList();
        }
    }

    private sealed class Accumulator
    {
        public int Rows;
        public long Prompt;
        public long Completion;
        public decimal Cost;
        public DateTimeOffset? First;
        public DateTimeOffset? Last;
        public readonly HashSet<string> Models = new(StringComparer.Ordinal);
    }
}
