using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Ledger;
using Distillery.Core.Pricing;
using Distillery.Teachers.Ledger;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Servers;

namespace Distillery.Teachers.Tests.Ledger;

public sealed class LedgerTeacherTests
{
    private static readonly SamplingParameters Sampling = new() { Temperature = 0, MaxTokens = 8, TopLogprobs = 2 };
    private static readonly ModelPrice Price = new(2m, 8m);

    private static TeacherRequest Ask(string prompt) => new([ChatMessage.User(prompt)], Sampling);

    [Fact]
    public async Task An_answer_is_sent_once_recorded_with_its_cost_and_then_answered_from_the_ledger()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        await using var ledger = await TeacherLedger.OpenAsync(dir.File("ledger.db"));
        var first = Ask("three little pigs");
        string sentText;
        await using (var teacher = await LedgerTeacher.OpenAsync(TestTeachers.Raw(server), ledger, Price))
        {
            Assert.False(teacher.Holds(first));
            sentText = (await teacher.CompleteAsync(first)).Text;
            var receipt = first.Trace.Ledger!;
            Assert.False(receipt.FromLedger);
            await receipt.Recorded;
            Assert.Equal(1, server.Received);

            // The same request again, even from a new request object, is answered by the ledger.
            var again = Ask("three little pigs");
            Assert.True(teacher.Holds(again));
            Assert.Equal(sentText, (await teacher.CompleteAsync(again)).Text);
            Assert.True(again.Trace.Ledger!.FromLedger);
            Assert.Equal(receipt.CostUsd, again.Trace.Ledger.CostUsd);
            Assert.Equal(1, server.Received);
        }

        var entry = await ledger.FindAsync(LedgerKey.For(TestTeachers.Raw(server).Identity, first.Messages, Sampling, 0).Hash);
        Assert.Equal(LedgerStatus.Answered, entry!.Status);
        Assert.Equal(1, entry.Sends);
        Assert.Equal(Price.Cost(entry.Usage), entry.CostUsd);
        Assert.True(entry.CostUsd > 0);

        // A new wrapper over the same ledger (a later run) knows the answer before sending anything.
        await using var later = await LedgerTeacher.OpenAsync(TestTeachers.Raw(server), ledger, Price);
        var third = Ask("three little pigs");
        Assert.True(later.Holds(third));
        Assert.Equal(sentText, (await later.CompleteAsync(third)).Text);
        Assert.Equal(1, server.Received);
        // Another sample of the same prompt is another request.
        Assert.False(later.Holds(Ask("three little pigs") with { Key = LedgerKey.For(later.Identity, first.Messages, Sampling, 1) }));
    }

    [Fact]
    public async Task A_failed_request_is_recorded_as_failed_and_sent_again_next_time()
    {
        using var dir = new ScratchFolder();
        await using var server = await FakeOpenAiServer.StartAsync();
        server.Faults = (_, attempt) => attempt == 1 ? Fault.BadRequest : Fault.None;
        await using var ledger = await TeacherLedger.OpenAsync(dir.File("ledger.db"));
        await using var teacher = await LedgerTeacher.OpenAsync(TestTeachers.Raw(server), ledger, Price);
        var request = Ask("a bad request");
        var hash = LedgerKey.For(teacher.Identity, request.Messages, Sampling, 0).Hash;

        await Assert.ThrowsAsync<TeacherException>(() => teacher.CompleteAsync(request));
        var failed = await ledger.FindAsync(hash);
        Assert.Equal(LedgerStatus.Failed, failed!.Status);
        Assert.Null(request.Trace.Ledger);
        Assert.False(teacher.Holds(request));

        var retry = Ask("a bad request");
        await teacher.CompleteAsync(retry);
        await retry.Trace.Ledger!.Recorded;
        var answered = await ledger.FindAsync(hash);
        Assert.Equal(LedgerStatus.Answered, answered!.Status);
        Assert.Equal(2, answered.Sends);
        Assert.Equal(2, server.Received);
    }
}
