using System;
using System.Threading.Tasks;
using Distillery.Core.Ledger;
using Distillery.TestSupport.Files;

namespace Distillery.TestSupport.Databases;

/// <summary>Runs one ledger check on a fresh SQLite ledger or a fresh PostgreSQL one, so a test class states each check once for both stores.</summary>
public static class LedgerBackends
{
    /// <summary>The check on a new SQLite ledger in a scratch folder.</summary>
    public static async Task OnSqliteAsync(Func<TeacherLedger, Task> check)
    {
        ArgumentNullException.ThrowIfNull(check);
        using var dir = new ScratchFolder();
        await using var ledger = await TeacherLedger.OpenAsync(dir.File("ledger.db"));
        await check(ledger);
    }

    /// <summary>The check on a new ledger in a throwaway PostgreSQL database (call from a <c>PostgresFact</c>).</summary>
    public static async Task OnPostgresAsync(Func<TeacherLedger, Task> check)
    {
        ArgumentNullException.ThrowIfNull(check);
        await using var database = await PostgresTestDatabase.CreateAsync();
        await using var ledger = await TeacherLedger.OpenAsync(database.Url);
        await check(ledger);
    }
}
