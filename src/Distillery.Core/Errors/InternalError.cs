using System;
using System.Globalization;
using System.IO;

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

    /// <summary>
    /// The one line with the path of a report that holds what a maintainer needs and the terminal should not show: the
    /// command line, the time, and the exception with its stack trace. Where the report cannot be written, the plain line.
    /// </summary>
    public static string Describe(Exception exception, string commandLine, DateTimeOffset now, string folder)
    {
        ArgumentNullException.ThrowIfNull(exception);
        try
        {
            Directory.CreateDirectory(folder);
            var path = Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"distill-crash-{now.UtcDateTime:yyyyMMdd-HHmmss}-{Environment.ProcessId}.txt"));
            File.WriteAllText(path, string.Create(CultureInfo.InvariantCulture,
                $"command: {commandLine}\ntime: {now.UtcDateTime:O}\n(for libtorch errors, TORCH_SHOW_CPP_STACKTRACES=1 in the environment adds the native stack)\n\n{exception}\n"));
            return $"internal error ({exception.GetType().Name}: {ErrorText.FirstLine(exception)}); details in {path}; {ReportTo}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Describe(exception);
        }
    }
}
