using System;
using System.Threading.Tasks;
using Distillery.Core.Ledger;
using Npgsql;
using Xunit;

namespace Distillery.TestSupport.Databases;

/// <summary>A fresh database on the test PostgreSQL server (<see cref="EnvironmentVariable"/>, started by build/postgres-test-server.sh), dropped when disposed.</summary>
public sealed class PostgresTestDatabase : IAsyncDisposable
{
    /// <summary>The environment variable holding the test server's URL (a database the tests may create others beside).</summary>
    public const string EnvironmentVariable = "DISTILLERY_TEST_POSTGRES";

    private readonly string adminConnection;

    private PostgresTestDatabase(string adminConnection, string name, string url)
    {
        this.adminConnection = adminConnection;
        Name = name;
        Url = url;
    }

    /// <summary>The database's name.</summary>
    public string Name { get; }

    /// <summary>The database's URL, as <c>--ledger</c> takes it.</summary>
    public string Url { get; }

    /// <summary>The test server's URL, or null when none was started.</summary>
    public static string? ServerUrl => Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } url ? url : null;

    /// <summary>Creates an empty database on the test server; fails (never skips) when there is none.</summary>
    public static async Task<PostgresTestDatabase> CreateAsync()
    {
        var server = ServerUrl ?? throw new InvalidOperationException($"{EnvironmentVariable} is not set: start a server with build/postgres-test-server.sh start");
        var admin = LedgerLocation.ConnectionString(server);
        var name = $"ledger_{Guid.NewGuid():N}"[..24];
        await ExecuteAsync(admin, $"CREATE DATABASE {name}");
        var uri = new UriBuilder(server) { Path = "/" + name };
        return new PostgresTestDatabase(admin, name, uri.Uri.ToString());
    }

    /// <summary>Refuses new connections to the database and ends the open ones: a database lost in the middle of a run.</summary>
    public async Task CutConnectionsAsync()
    {
        await ExecuteAsync(adminConnection, $"ALTER DATABASE {Name} WITH ALLOW_CONNECTIONS false");
        await ExecuteAsync(adminConnection, $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{Name}' AND pid <> pg_backend_pid()");
    }

    /// <summary>Accepts connections again.</summary>
    public Task RestoreConnectionsAsync() => ExecuteAsync(adminConnection, $"ALTER DATABASE {Name} WITH ALLOW_CONNECTIONS true");

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync(adminConnection, $"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>A fact that needs the test PostgreSQL server: skipped with the reason where none was started, but run (and failed) under CI, which must start one.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresTestDatabase.ServerUrl is null && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Skip = $"needs a PostgreSQL server in ${PostgresTestDatabase.EnvironmentVariable}: eval \"$(bash build/postgres-test-server.sh start)\"";
    }
}
