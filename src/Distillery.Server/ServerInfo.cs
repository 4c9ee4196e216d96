namespace Distillery.Server;

/// <summary>Identity of this server build, reported in responses.</summary>
public static class ServerInfo
{
    /// <summary>The <c>system_fingerprint</c> of every response.</summary>
    public static string Fingerprint { get; } = "distillery-" + (typeof(ServerInfo).Assembly.GetName().Version?.ToString(3) ?? "0");

    /// <summary>The <c>owned_by</c> of listed models.</summary>
    public const string Owner = "distillery";
}
