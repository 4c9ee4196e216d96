using System;
using System.Text.Json;
using Distillery.Core.Datasets;
using Distillery.Core.Hashing;
using Distillery.Core.Provenance;

namespace Distillery.Core.Ledger;

/// <summary>The ledger key of a request: SHA-256 over the teacher (provider, model, endpoint) and the canonical request JSON.</summary>
public static class RequestHash
{
    /// <summary>Serialises a request record the same way every time (declared property order, compact, no key material).</summary>
    public static string Canonical<T>(T request) => JsonSerializer.Serialize(request, DatasetJson.Compact);

    /// <summary>The hash of a canonical request sent to a teacher.</summary>
    public static string Of(TeacherIdentity teacher, string canonicalRequest)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(canonicalRequest);
        // Newlines cannot occur inside the compact JSON fields' delimiters, so the concatenation is unambiguous.
        return Sha256Hex.Of($"{JsonSerializer.Serialize(teacher.Provider)}\n{JsonSerializer.Serialize(teacher.Model)}\n{JsonSerializer.Serialize(teacher.Endpoint)}\n{canonicalRequest}");
    }
}
