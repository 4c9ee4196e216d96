using System;
using System.Threading.Tasks;

namespace Distillery.Teachers.Ledger;

/// <summary>What the ledger did with one request: answered it from what it held, or sent it and is recording the answer.</summary>
/// <param name="FromLedger">Whether the answer came from the ledger (nothing was sent).</param>
/// <param name="CostUsd">What the answer cost when it was paid for (priced now when it was just sent).</param>
/// <param name="Completed">When the answer arrived.</param>
/// <param name="Recorded">Completes when the answer is durable in the ledger; faults when it could not be written.</param>
public sealed record LedgerReceipt(bool FromLedger, decimal CostUsd, DateTimeOffset Completed, Task Recorded);
