using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Tokens;

namespace Distillery.Training.CrossTokenizer;

/// <summary>
/// A chunk start's teacher alternatives as groups of student first tokens (<see cref="AlternativeMatch.Prefix"/>). An
/// alternative's group is the student tokens that begin with its bytes and with no longer alternative's (longer ones claim
/// their tokens after shorter ones); alternatives with the same bytes merge. One left with no token passes its mass to the
/// longest shorter alternative whose bytes begin its own and that kept a token (a student begins that continuation with one
/// of those tokens: " be" to " b" where the student has no token beginning " be"), or to the tail where there is none.
/// </summary>
public static class PrefixGroups
{
    /// <summary>The groups: each one's teacher log-probability, the (student token, group) members, and the mass placed on groups.</summary>
    public static (List<(int Group, double Logprob)> Targets, List<(int Token, int Group)> Members, double Mass) Of(IEnumerable<TopLogprob> alternatives, StudentSpelling spelling)
    {
        ArgumentNullException.ThrowIfNull(alternatives);
        ArgumentNullException.ThrowIfNull(spelling);
        var byBytes = new Dictionary<string, (IReadOnlyList<int> Bytes, double Mass)>(StringComparer.Ordinal);
        foreach (var (_, bytes, logprob) in alternatives)
        {
            var key = string.Join(",", bytes);
            var mass = Math.Exp(logprob);
            byBytes[key] = byBytes.TryGetValue(key, out var seen) ? (seen.Bytes, seen.Mass + mass) : (bytes, mass);
        }
        var ordered = byBytes.Values.OrderBy(e => e.Bytes.Count).ToList();
        var masses = ordered.Select(e => e.Mass).ToArray();
        var owner = new Dictionary<int, int>();
        for (var e = 0; e < ordered.Count; e++)
            foreach (var id in spelling.Extensions(ordered[e].Bytes)) owner[id] = e;
        var owns = new bool[ordered.Count];
        foreach (var e in owner.Values) owns[e] = true;
        for (var e = ordered.Count - 1; e >= 0; e--)
        {
            if (owns[e]) continue;
            var heir = Enumerable.Range(0, e).LastOrDefault(a => owns[a] && ordered[a].Bytes.Count < ordered[e].Bytes.Count && BeginsWith(ordered[e].Bytes, ordered[a].Bytes), -1);
            if (heir >= 0) masses[heir] += masses[e];
            masses[e] = 0;
        }
        var groupOf = new Dictionary<int, int>(); // alternative → group number, for those that kept a token and carry mass
        var members = new List<(int Token, int Group)>();
        foreach (var (id, e) in owner.OrderBy(kv => kv.Value))
        {
            if (masses[e] <= 0) continue; // its tokens join the tail
            if (!groupOf.TryGetValue(e, out var group)) groupOf[e] = group = groupOf.Count;
            members.Add((id, group));
        }
        var targets = groupOf.OrderBy(kv => kv.Value).Select(kv => (kv.Value, Math.Log(masses[kv.Key]))).ToList();
        return (targets, members, targets.Sum(t => Math.Exp(t.Item2)));
    }

    private static bool BeginsWith(IReadOnlyList<int> bytes, IReadOnlyList<int> prefix)
    {
        for (var i = 0; i < prefix.Count; i++)
            if (bytes[i] != prefix[i]) return false;
        return true;
    }
}
