namespace Distillery.Core.Errors;

/// <summary>The process exit codes of every Distillery command.</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Ok = 0;

    /// <summary>The run failed (a teacher error, a training failure, an interruption).</summary>
    public const int Failed = 1;

    /// <summary>The input was bad: an option, a file, a line or a field; nothing was done with it.</summary>
    public const int BadInput = 2;

    /// <summary>Distillery failed in a way that is its own fault (a bug); the message says where to report it.</summary>
    public const int InternalError = 3;
}
