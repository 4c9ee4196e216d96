using System;
using Distillery.Core.Errors;
using Npgsql;

namespace Distillery.Core.Ledger;

/// <summary>Where <c>--ledger</c> points: a file path (SQLite), or a <c>postgres://user:pass@host:port/db</c> URL (PostgreSQL).</summary>
public static class LedgerLocation
{
    /// <summary>Whether <paramref name="location"/> is a PostgreSQL URL rather than a file path.</summary>
    public static bool IsDatabaseUrl(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        return location.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The URL as users are shown it: without its password.</summary>
    public static string Display(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) return url;
        var user = uri.UserInfo.Split(':', 2)[0];
        return $"{uri.Scheme}://{(user.Length > 0 ? user + "@" : "")}{uri.Authority}{uri.AbsolutePath}";
    }

    /// <summary>The Npgsql connection string of a PostgreSQL URL; a malformed one is an input error naming --ledger.</summary>
    public static string ConnectionString(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Host.Length == 0 || uri.AbsolutePath.Trim('/').Length == 0)
            throw InputException.InField("--ledger", $"{Display(url)}: not a database URL (postgres://user:password@host:port/database)");
        var userInfo = uri.UserInfo.Split(':', 2);
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.Trim('/')),
            Username = userInfo[0].Length > 0 ? Uri.UnescapeDataString(userInfo[0]) : null,
            Password = userInfo.Length > 1 ? Uri.UnescapeDataString(userInfo[1]) : null,
            Timeout = 10,
            ApplicationName = "distillery",
        };
        return builder.ConnectionString;
    }
}
