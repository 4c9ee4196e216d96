using System;

namespace Distillery.Core.Errors;

/// <summary>A failure the user can act on: its message is one line that says what is wrong and what to do.</summary>
public class DistilleryException : Exception
{
    /// <summary>Creates the error with its one-line message.</summary>
    public DistilleryException(string message) : base(message) { }

    /// <summary>Creates the error with its one-line message and the underlying cause.</summary>
    public DistilleryException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The process exit code this error maps to: 1 for a failed run.</summary>
    public virtual int ExitCode => ExitCodes.Failed;
}
