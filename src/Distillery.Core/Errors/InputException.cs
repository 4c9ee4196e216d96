using System;

namespace Distillery.Core.Errors;

/// <summary>Bad input from the user: a file, line or field that is wrong. Maps to exit code 2.</summary>
public sealed class InputException : DistilleryException
{
    /// <summary>Creates the error with a one-line message that already names where the problem is.</summary>
    public InputException(string message) : base(message) { }

    /// <summary>Creates the error with a one-line message and the underlying cause.</summary>
    public InputException(string message, Exception innerException) : base(message, innerException) { }

    /// <inheritdoc />
    public override int ExitCode => ExitCodes.BadInput;

    /// <summary>An error at a line of a file, written as <c>file:line: message</c>.</summary>
    public static InputException AtLine(string file, int line, string message) => new($"{file}:{line}: {message}");

    /// <summary>An error in a file as a whole, written as <c>file: message</c>.</summary>
    public static InputException InFile(string file, string message) => new($"{file}: {message}");

    /// <summary>An error in a named field or option, written as <c>field: message</c>.</summary>
    public static InputException InField(string field, string message) => new($"{field}: {message}");
}
