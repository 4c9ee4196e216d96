using System;

namespace Distillery.Core.Pricing;

/// <summary>A spend limit in US dollars: a request reserves its worst-case cost before it is sent and settles its real cost after, so concurrent requests cannot overshoot.</summary>
public sealed class Budget
{
    private readonly object gate = new();
    private decimal spent;
    private decimal reserved;

    /// <summary>Creates a budget; null means no limit.</summary>
    public Budget(decimal? limitUsd)
    {
        if (limitUsd < 0) throw new ArgumentOutOfRangeException(nameof(limitUsd), "a budget cannot be negative");
        LimitUsd = limitUsd;
    }

    /// <summary>The limit, or null for none.</summary>
    public decimal? LimitUsd { get; }

    /// <summary>Spent so far (settled requests).</summary>
    public decimal SpentUsd
    {
        get { lock (gate) return spent; }
    }

    /// <summary>Reserves a request's worst-case cost; false when that would pass the limit.</summary>
    public bool TryReserve(decimal worstCaseUsd)
    {
        lock (gate)
        {
            if (LimitUsd is { } limit && spent + reserved + worstCaseUsd > limit) return false;
            reserved += worstCaseUsd;
            return true;
        }
    }

    /// <summary>Replaces a reservation with the real cost (0 for a request that failed unpaid).</summary>
    public void Settle(decimal reservedUsd, decimal actualUsd)
    {
        lock (gate)
        {
            reserved -= reservedUsd;
            spent += actualUsd;
        }
    }
}
