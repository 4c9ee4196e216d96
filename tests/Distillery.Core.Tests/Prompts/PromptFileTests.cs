using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Core.Prompts;
using Distillery.TestSupport.Files;

namespace Distillery.Core.Tests.Prompts;

public sealed class PromptFileTests
{
    [Fact]
    public async Task Jsonl_reads_chats_and_prompts_with_ids_and_meta_skipping_blank_lines()
    {
        using var dir = new ScratchFolder();
        var path = dir.File("p.jsonl");
        await File.WriteAllLinesAsync(path,
        [
            """{"messages":[{"role":"system","content":"be kind"},{"role":"user","content":"hi"}],"id":"a","meta":{"topic":"greeting"}}""",
            "",
            """{"prompt":"write a haiku","id":7}""",
            """{"prompt":"no id"}""",
        ]);

        var set = await PromptFile.ReadAsync(path);

        Assert.Equal(["a", "7", "line-4"], set.Prompts.Select(p => p.Id));
        Assert.Equal([1, 3, 4], set.Prompts.Select(p => p.Line));
        Assert.Equal(["system", "user"], set.Prompts[0].Messages.Select(m => m.Role));
        Assert.Equal("greeting", set.Prompts[0].Meta!.Value.GetProperty("topic").GetString());
        Assert.Equal("write a haiku", Assert.Single(set.Prompts[1].Messages).Content);
        Assert.Null(set.Prompts[2].Meta);
        Assert.Equal(64, set.Sha256.Length);
    }

    [Fact]
    public async Task Text_files_are_one_user_prompt_a_line()
    {
        using var dir = new ScratchFolder();
        var path = dir.File("p.txt");
        await File.WriteAllTextAsync(path, "first {not json}\r\n\nsecond\n");

        var set = await PromptFile.ReadAsync(path);

        Assert.Equal(["first {not json}", "second"], set.Prompts.Select(p => p.Messages.Single().Content));
        Assert.Equal(["line-1", "line-3"], set.Prompts.Select(p => p.Id));
    }

    [Theory]
    [InlineData("""{"prompt":"ok"}""", """{"messages":[{"role":"user","content":"x"}]""", 2, "not valid JSON")]
    [InlineData("""{"prompt":"ok"}""", """["prompt"]""", 2, "expected a JSON object with \"messages\" or \"prompt\"")]
    [InlineData("""{"text":"x"}""", """{"prompt":"ok"}""", 1, "needs \"messages\" (a chat) or \"prompt\" (a string)")]
    [InlineData("""{"prompt":"a","messages":[]}""", """{"prompt":"ok"}""", 1, "has both \"messages\" and \"prompt\"; keep one")]
    [InlineData("""{"prompt":""}""", """{"prompt":"ok"}""", 1, "\"prompt\" must be a non-empty string")]
    [InlineData("""{"prompt":"ok"}""", """{"messages":[{"role":"robot","content":"x"}]}""", 2, "messages[0].role must be one of system, user, assistant, developer")]
    [InlineData("""{"prompt":"ok"}""", """{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}""", 2, "the last message is the assistant's; a prompt ends with the message the teacher answers")]
    [InlineData("""{"prompt":"ok","id":"x"}""", """{"prompt":"ok2","id":"x"}""", 2, "id \"x\" is already used on line 1; ids must be unique")]
    [InlineData("""{"prompt":"ok","id":true}""", """{"prompt":"ok2"}""", 1, "\"id\" must be a non-empty string or a number")]
    public async Task A_bad_line_is_named_as_file_line_and_what_is_wrong(string first, string second, int line, string message)
    {
        using var dir = new ScratchFolder();
        var path = dir.File("p.jsonl");
        await File.WriteAllLinesAsync(path, [first, second]);

        var e = await Assert.ThrowsAsync<InputException>(() => PromptFile.ReadAsync(path));

        Assert.StartsWith($"{path}:{line}: {message}", e.Message, System.StringComparison.Ordinal);
        Assert.Equal(ExitCodes.BadInput, e.ExitCode);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task Missing_and_empty_files_are_input_errors()
    {
        using var dir = new ScratchFolder();
        await Assert.ThrowsAsync<InputException>(() => PromptFile.ReadAsync(dir.File("none.jsonl")));
        await File.WriteAllTextAsync(dir.File("empty.jsonl"), "\n\n");
        var e = await Assert.ThrowsAsync<InputException>(() => PromptFile.ReadAsync(dir.File("empty.jsonl")));
        Assert.EndsWith("empty.jsonl: holds no prompts", e.Message, System.StringComparison.Ordinal);
    }
}
