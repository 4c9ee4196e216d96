using System;
using System.IO;
using System.Linq;
using Distillery.Core.Errors;

namespace Distillery.Core.Tests.Errors;

public sealed class ErrorTextTests
{
    [Theory]
    [InlineData("one line", "one line")]
    [InlineData("first\nsecond", "first")]
    [InlineData("\n  \r\n  first after blanks \r\nsecond", "first after blanks")]
    [InlineData("", "")]
    public void First_line_is_the_first_non_empty_line_trimmed(string message, string expected) =>
        Assert.Equal(expected, ErrorText.FirstLine(message));

    [Fact]
    public void One_line_joins_every_line()
    {
        Assert.Equal("a b c", ErrorText.OneLine("a\r\n b \n\nc"));
    }

    [Fact]
    public void An_internal_error_is_one_line_with_its_type_and_where_to_report_it()
    {
        var text = InternalError.Describe(new InvalidOperationException("Sequence contains no elements\n   at Somewhere()"));
        Assert.DoesNotContain('\n', text);
        Assert.Contains("InvalidOperationException: Sequence contains no elements", text);
        Assert.EndsWith(InternalError.ReportTo, text);
        Assert.Equal(3, ExitCodes.InternalError);
    }

    [Fact]
    public void An_internal_error_with_a_report_names_the_file_that_holds_the_stack_trace()
    {
        var folder = Path.Combine(Path.GetTempPath(), "distill-crash-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            Exception thrown;
            try { throw new InvalidOperationException("boom\nsecond line"); }
            catch (InvalidOperationException e) { thrown = e; }
            var text = InternalError.Describe(thrown, "distill generate --x", new DateTimeOffset(2026, 12, 3, 18, 30, 0, TimeSpan.Zero), folder);
            Assert.DoesNotContain('\n', text);
            Assert.EndsWith(InternalError.ReportTo, text);
            var report = Directory.GetFiles(folder).Single();
            Assert.Contains(report, text);
            Assert.StartsWith("distill-crash-20261203-183000-", Path.GetFileName(report));
            var content = File.ReadAllText(report);
            Assert.Contains("command: distill generate --x", content);
            Assert.Contains(nameof(An_internal_error_with_a_report_names_the_file_that_holds_the_stack_trace), content); // the stack trace
        }
        finally { if (Directory.Exists(folder)) Directory.Delete(folder, true); }
    }

    [Fact]
    public void A_report_that_cannot_be_written_leaves_the_plain_line()
    {
        var file = Path.GetTempFileName(); // a file where the folder should be
        try
        {
            var text = InternalError.Describe(new InvalidOperationException("boom"), "distill x", DateTimeOffset.UnixEpoch, file);
            Assert.Equal(InternalError.Describe(new InvalidOperationException("boom")), text);
        }
        finally { File.Delete(file); }
    }
}
