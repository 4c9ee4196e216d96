using System.Linq;

namespace Distillery.Core.Policy;

/// <summary>What a terms policy says about a teacher.</summary>
public enum PolicyVerdict
{
    /// <summary>Data from this teacher may be used.</summary>
    Allow,

    /// <summary>Data from this teacher may be used; the note is shown and recorded.</summary>
    AllowWithNotice,

    /// <summary>Data from this teacher must not be generated or trained on.</summary>
    Deny,
}

/// <summary>A policy's decision about one teacher, naming the rule that made it.</summary>
public sealed record PolicyDecision(PolicyVerdict Verdict, string Rule, string? Note, string? Url)
{
    /// <summary>The verdict as the policy file spells it.</summary>
    public string VerdictText => Verdict switch
    {
        PolicyVerdict.Allow => "allow",
        PolicyVerdict.AllowWithNotice => "allow-with-notice",
        _ => "deny",
    };

    /// <summary>The note and URL as one line.</summary>
    public string Explanation => string.Join(" ", new[] { Note, Url }.Where(s => !string.IsNullOrWhiteSpace(s)));
}
