using System;
using Distillery.Core.Errors;

namespace Distillery.Teachers;

/// <summary>Why a teacher request failed, which decides whether trying again can help.</summary>
public enum TeacherFailureKind
{
    /// <summary>429: the server asks us to slow down; retry after its Retry-After.</summary>
    RateLimited,

    /// <summary>5xx, a timeout or a dropped connection: retry with backoff.</summary>
    Transient,

    /// <summary>Another 4xx: the server refused the request; retrying would get the same answer.</summary>
    Rejected,

    /// <summary>The server answered with something that is not a valid completion.</summary>
    Malformed,
}

/// <summary>A teacher request that failed, with the server's message, the HTTP status where there was one, and the server's Retry-After.</summary>
public sealed class TeacherException : DistilleryException
{
    /// <summary>Creates the failure.</summary>
    public TeacherException(TeacherFailureKind kind, string message, int? status = null, TimeSpan? retryAfter = null, Exception? innerException = null)
        : base(message, innerException ?? new InvalidOperationException(message))
    {
        Kind = kind;
        Status = status;
        RetryAfter = retryAfter;
    }

    /// <summary>Why it failed.</summary>
    public TeacherFailureKind Kind { get; }

    /// <summary>The HTTP status, or null when no response came.</summary>
    public int? Status { get; }

    /// <summary>How long the server asked us to wait, if it said.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>A failed HTTP response as a teacher failure: 429 rate limited (with its wait), 408 and 5xx transient, other statuses rejected.</summary>
    public static TeacherException FromStatus(int status, string serverMessage, TimeSpan? retryAfter = null, Exception? innerException = null)
    {
        var message = $"HTTP {status}: {serverMessage}";
        return status switch
        {
            429 => new TeacherException(TeacherFailureKind.RateLimited, message, status, retryAfter, innerException),
            408 or >= 500 => new TeacherException(TeacherFailureKind.Transient, message, status, null, innerException),
            _ => new TeacherException(TeacherFailureKind.Rejected, message, status, null, innerException),
        };
    }

    /// <summary>Whether trying again can help.</summary>
    public bool IsRetryable => Kind is TeacherFailureKind.RateLimited or TeacherFailureKind.Transient;
}
