using System;

namespace Distillery.Core.Errors;

/// <summary>A failure the user can act on: its message is one line that says what is wrong and what to do.</summary>
public class DistilleryException : Exception
{
    // The message is made one line here, once: it often quotes a file's own text (a key, a token), which may hold line breaks.

    /// <summary>Creates the error with its message, made one line.</summary>
    public DistilleryException(string message) : base(ErrorText.OneLine(message)) { }

    /// <summary>Creates the error with its message, made one line, and the underlying cause.</summary>
    public DistilleryException(string message, Exception innerException) : base(ErrorText.OneLine(message), innerException) { }

    /// <summary>The process exit code this error maps to: 1 for a failed run.</summary>
    public virtual int ExitCode => ExitCodes.Failed;
}
