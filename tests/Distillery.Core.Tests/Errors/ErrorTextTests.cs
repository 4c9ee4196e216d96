using System;
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
}
