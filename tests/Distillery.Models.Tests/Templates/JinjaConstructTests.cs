using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using Distillery.Models.Templates.Jinja;
using Microsoft.Extensions.Time.Testing;

namespace Distillery.Models.Tests.Templates;

/// <summary>
/// Each construct chat templates use, against Python's Jinja2 in transformers' environment: constructs.json holds the
/// snippets, constructs-expected.json what Jinja2 rendered (tests/data/chat-templates/make-constructs.py).
/// </summary>
public sealed class JinjaConstructTests
{
    public static TheoryData<string> Names() =>
        [.. ChatTemplateData.Json("constructs.json").AsArray().Select(c => c!["name"]!.GetValue<string>())];

    [Theory]
    [MemberData(nameof(Names))]
    public void Renders_as_Jinja2_does(string name)
    {
        var construct = ChatTemplateData.Json("constructs.json").AsArray().Single(c => c!["name"]!.GetValue<string>() == name)!;
        var expected = ChatTemplateData.Json("constructs-expected.json")["expected"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == name)!["text"]!.GetValue<string>();
        var template = JinjaTemplate.Parse(construct["template"]!.GetValue<string>());
        Assert.Equal(expected, template.Render(ChatTemplateData.Variables(construct["variables"] as JsonObject)));
    }

    [Fact]
    public void Every_construct_has_an_expected_rendering()
    {
        var names = ChatTemplateData.Json("constructs.json").AsArray().Select(c => c!["name"]!.GetValue<string>()).ToList();
        var expected = ChatTemplateData.Json("constructs-expected.json")["expected"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(names, expected);
        Assert.True(names.Count >= 60);
    }

    [Theory]
    [InlineData("a\n{% include 'x.jinja' %}", "unsupported construct '{% include %}'", 2)]
    [InlineData("{% raw %}{{ x }}{% endraw %}", "unsupported construct '{% raw %}'", 1)]
    [InlineData("{% for m in messages %}\n{% call foo() %}{% endcall %}{% endfor %}", "unsupported construct '{% call %}'", 2)]
    [InlineData("ok\n\n{{ messages | wordwrap(3) }}", "unsupported filter 'wordwrap'", 3)]
    [InlineData("{% if x is ghost %}{% endif %}", "unsupported test 'is ghost'", 1)]
    [InlineData("{% frobnicate %}", "unknown statement '{% frobnicate %}'", 1)]
    [InlineData("{% if true %}\nno end", "'{% if %}' is never closed with '{% endif %}'", 1)]
    [InlineData("{% for x in y %}\n{% endif %}", "'{% endif %}' where '{% endfor %}' was expected", 2)]
    [InlineData("{{ 'unterminated }}", "a string literal is never closed", 1)]
    [InlineData("line 1\nline 2\n{{ a + }}", "expected a value but found '}}'", 3)]
    public void An_unsupported_or_broken_construct_is_named_with_its_line(string source, string reason, int line)
    {
        var e = Assert.Throws<JinjaException>(() => JinjaTemplate.Parse(source));
        Assert.Contains(reason, e.Reason, StringComparison.Ordinal);
        Assert.Equal(line, e.Line);
        Assert.StartsWith($"line {line}: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Raise_exception_stops_rendering_with_the_message_and_line()
    {
        var template = JinjaTemplate.Parse("{% for m in messages %}\n{% if m.role == 'tool' %}\n{{ raise_exception('Tool messages are not supported') }}\n{% endif %}{% endfor %}");
        var messages = new List<object?> { Message("tool", "x") };
        var e = Assert.Throws<JinjaException>(() => template.Render(new Dictionary<string, object?> { ["messages"] = messages }));
        Assert.Equal(3, e.Line);
        Assert.Contains("Tool messages are not supported", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Strip_takes_the_characters_to_strip_as_Python_does()
    {
        // @huggingface/jinja ignores strip's argument; Python (and transformers) strip only the given characters.
        var template = JinjaTemplate.Parse("[{{ ' \\n x \\n '.strip('\\n') }}][{{ '\\n\\n x'.lstrip('\\n') }}][{{ 'x \\n'.rstrip('\\n') }}]");
        Assert.Equal("[ \n x \n ][ x][x ]", template.Render(new Dictionary<string, object?>()));
    }

    [Fact]
    public void Strftime_now_reads_the_given_clock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 7, 4, 9, 5, 0, TimeSpan.Zero));
        time.SetLocalTimeZone(TimeZoneInfo.Utc);
        var template = JinjaTemplate.Parse("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M') }}|{{ strftime_now('%B %A') }}");
        Assert.Equal("04 Jul 2026|2026-07-04 09:05|July Saturday", template.Render(new Dictionary<string, object?>(), time));
    }

    [Fact]
    public void Generation_markers_render_their_body()
    {
        var template = JinjaTemplate.Parse("a{% generation %}b{% endgeneration %}c");
        Assert.Equal("abc", template.Render(new Dictionary<string, object?>()));
    }

    [Fact]
    public void Break_outside_a_loop_is_an_error()
    {
        var e = Assert.Throws<JinjaException>(() => JinjaTemplate.Parse("x{% break %}").Render(new Dictionary<string, object?>()));
        Assert.Contains("outside a loop", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Assigning_an_attribute_of_a_non_namespace_names_the_line()
    {
        var e = Assert.Throws<JinjaException>(() => JinjaTemplate.Parse("\n{% set d = {} %}{% set d.x = 1 %}").Render(new Dictionary<string, object?>()));
        Assert.Equal(2, e.Line);
        Assert.Contains("namespace", e.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.1, "0.1")]
    [InlineData(1.0, "1.0")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1.5e-5, "1.5e-05")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(123456789.125, "123456789.125")]
    [InlineData(1e22, "1e+22")]
    [InlineData(0.30000000000000004, "0.30000000000000004")]
    public void Floats_print_as_Python_repr(double value, string expected) =>
        Assert.Equal(expected, JinjaValues.FormatFloat(value));

    private static OrderedDictionary<string, object?> Message(string role, string content)
    {
        var message = JinjaValues.Map();
        message["role"] = role;
        message["content"] = content;
        return message;
    }
}
