using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Ledger;
using Distillery.TestSupport.Databases;

namespace Distillery.Core.Tests.Ledger;

/// <summary>Which share of a job each answer belongs to (<c>--take-share</c>), the same in SQLite and PostgreSQL: the first share recorded stays.</summary>
public sealed class ShareLedgerTests
{
    [Fact]
    public Task Sqlite_keeps_the_first_share_of_each_answer() => LedgerBackends.OnSqliteAsync(FirstShareStaysAsync);

    [PostgresFact]
    public Task Postgres_keeps_the_first_share_of_each_answer() => LedgerBackends.OnPostgresAsync(FirstShareStaysAsync);

    private static async Task FirstShareStaysAsync(TeacherLedger ledger)
    {
        Assert.Empty(await ledger.OtherSharesAsync("host-a:/out/a"));
        await ledger.RecordShareAsync("h1", "host-a:/out/a");
        await ledger.RecordShareAsync("h2", "host-b:/out/b");
        await ledger.RecordShareAsync("h1", "host-b:/out/b"); // taken by a already: stays a's

        Assert.Equal(["h2"], (await ledger.OtherSharesAsync("host-a:/out/a")).Order());
        Assert.Equal(["h1"], (await ledger.OtherSharesAsync("host-b:/out/b")).Order());
        Assert.Equal(["h1", "h2"], (await ledger.OtherSharesAsync("host-c:/out/c")).Order());
    }
}
