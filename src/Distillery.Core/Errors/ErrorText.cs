using System;

namespace Distillery.Core.Errors;

/// <summary>Turns exception messages (often several lines, from libraries) into the one line a user is shown.</summary>
public static class ErrorText
{
    /// <summary>The first non-empty line of <paramref name="message"/>, trimmed.</summary>
    public static string FirstLine(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        foreach (var line in message.Split('\n'))
        {
            var trimmed = line.Trim();
            if (trimmed.Length > 0) return trimmed;
        }
        return "";
    }

    /// <summary>The first non-empty line of the exception's message.</summary>
    public static string FirstLine(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return FirstLine(exception.Message);
    }

    /// <summary>All of <paramref name="text"/> on one line: its lines trimmed and joined by single spaces.</summary>
    public static string OneLine(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}
