using System;

namespace Distillery.Core.Errors;

/// <summary>How a failure that is Distillery's fault, not the user's, is told: one line, and where to report it.</summary>
public static class InternalError
{
    /// <summary>Where an internal error is reported (the project has no public tracker address).</summary>
    public const string ReportTo = "this is a bug in Distillery: report it, with the command line and this message, to the Distillery maintainers";

    /// <summary>The one line shown for an unexpected exception: its type, the first line of its message, and <see cref="ReportTo"/>.</summary>
    public static string Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return $"internal error ({exception.GetType().Name}: {ErrorText.FirstLine(exception)}); {ReportTo}";
    }
}
