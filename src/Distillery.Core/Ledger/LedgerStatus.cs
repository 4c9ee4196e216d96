namespace Distillery.Core.Ledger;

/// <summary>Where a ledger request stands.</summary>
public enum LedgerStatus
{
    /// <summary>Recorded before sending; not answered yet (or the process died while it was in flight).</summary>
    Pending,

    /// <summary>The teacher answered; the response is stored and is never asked for again.</summary>
    Answered,

    /// <summary>The request failed; a later run tries it again.</summary>
    Failed,
}
