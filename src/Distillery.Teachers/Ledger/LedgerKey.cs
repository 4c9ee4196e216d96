using System;
using System.Collections.Generic;
using Distillery.Core.Chat;
using Distillery.Core.Ledger;
using Distillery.Core.Provenance;

namespace Distillery.Teachers.Ledger;

/// <summary>Where a request stands in the ledger: its hash (the row's key) and the canonical request text stored with it.</summary>
/// <param name="Hash">The request hash of (teacher, canonical request).</param>
/// <param name="Canonical">The canonical request: messages, sampling parameters and sample number, never a key or a header.</param>
public sealed record LedgerKey(string Hash, string Canonical)
{
    /// <summary>The key of sample <paramref name="sample"/> of (messages, sampling) asked of a teacher.</summary>
    public static LedgerKey For(TeacherIdentity teacher, IReadOnlyList<ChatMessage> messages, SamplingParameters sampling, int sample)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        var canonical = RequestHash.Canonical(new CanonicalRequest(messages, sampling, sample));
        return new LedgerKey(RequestHash.Of(teacher, canonical), canonical);
    }
}
