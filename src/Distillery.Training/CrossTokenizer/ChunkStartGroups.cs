using System;
using System.Collections.Generic;
using Distillery.Training.Losses;
using static TorchSharp.torch;

namespace Distillery.Training.CrossTokenizer;

/// <summary>
/// The student tokens of each chunk start's groups under <see cref="AlternativeMatch.Prefix"/>: member n is student token
/// <see cref="Token"/>[n] of flat chunk slot <see cref="Slot"/>[n] (b·C + c), counted in that chunk's group
/// <see cref="Group"/>[n]. A token is in at most one group per slot; tokens in none form the tail.
/// </summary>
/// <param name="Slot">Each member's flat chunk slot, (N) int64.</param>
/// <param name="Token">Each member's student token id, (N) int64.</param>
/// <param name="Group">Each member's group number within its slot, (N) int64.</param>
public sealed record ChunkStartGroups(Tensor Slot, Tensor Token, Tensor Group)
{
    /// <summary>The mass an empty group is given before its log is taken; far below any real probability, above float32's smallest normal.</summary>
    private const double EmptyGroupMass = 1e-30;

    /// <summary>Packs (slot, token, group) triples.</summary>
    public static ChunkStartGroups Of(IReadOnlyList<(long Slot, long Token, long Group)> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        var (slot, token, group) = (new long[members.Count], new long[members.Count], new long[members.Count]);
        for (var n = 0; n < members.Count; n++) (slot[n], token[n], group[n]) = members[n];
        return new ChunkStartGroups(tensor(slot), tensor(token), tensor(group));
    }

    /// <summary>
    /// The student's log-probability of each group, Σ of its members' probabilities, (B, C, K), and of everything outside
    /// the groups as a last entry, (B, C, K + 1): a distribution over the groups and the tail.
    /// </summary>
    /// <param name="studentLogprobs">The student's log-probabilities at the chunk starts, (B, C, V).</param>
    /// <param name="groupsPerSlot">K, the padded number of groups per chunk.</param>
    public Tensor LogMass(Tensor studentLogprobs, long groupsPerSlot)
    {
        ArgumentNullException.ThrowIfNull(studentLogprobs);
        var (batch, perRow, vocab) = (studentLogprobs.shape[0], studentLogprobs.shape[1], studentLogprobs.shape[2]);
        var device = studentLogprobs.device;
        var slot = Slot.to(device);
        var q = studentLogprobs.reshape(-1).index_select(0, slot * vocab + Token.to(device)).exp();
        var mass = zeros([batch * perRow * groupsPerSlot], studentLogprobs.dtype, device)
            .index_add(0, slot * groupsPerSlot + Group.to(device), q, 1)
            .view(batch, perRow, groupsPerSlot);
        // An empty (padding) group has mass 0; its floor keeps log and its gradient finite, and padding carries no target.
        var logMass = mass.clamp_min(EmptyGroupMass).log();
        return cat([logMass, LossMath.LogOneMinusExp(logMass.logsumexp(-1, keepdim: true))], -1);
    }
}
