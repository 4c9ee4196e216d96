using System;

namespace Distillery.Core.Ledger;

/// <summary>What asking the ledger for a request found.</summary>
public enum ClaimOutcome
{
    /// <summary>This process holds the request now and may send it.</summary>
    Claimed,

    /// <summary>The ledger holds the request's answer: read it, send nothing.</summary>
    Answered,

    /// <summary>Another live process holds the request until <see cref="LedgerClaim.HeldUntil"/>: skip it, come back later.</summary>
    HeldElsewhere,
}

/// <summary>The ledger's answer to a claim: claimed, already answered, or held by another process until a time.</summary>
/// <param name="Outcome">What the ledger found.</param>
/// <param name="HeldUntil">When another process's claim runs out unless it is renewed (only for <see cref="ClaimOutcome.HeldElsewhere"/>).</param>
public sealed record LedgerClaim(ClaimOutcome Outcome, DateTimeOffset? HeldUntil = null);
