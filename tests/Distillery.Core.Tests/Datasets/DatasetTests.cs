using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Tokens;
using Distillery.TestSupport.Files;

namespace Distillery.Core.Tests.Datasets;

public sealed class DatasetTests
{
    internal static DatasetRow Row(string id, string answer = "Hello!", string provider = "openai", string model = "gpt-x", int completionTokens = 2, decimal cost = 0.001m, DateTimeOffset? at = null) =>
        new([ChatMessage.User("hi " + id), ChatMessage.Assistant(answer)], new RowProvenance
        {
            PromptId = id,
            Teacher = new RowTeacher { Provider = provider, Model = model + "-2026", RequestedModel = model, Endpoint = "https://api.example.com/v1", Sampling = new SamplingParameters { TopLogprobs = 2 } },
            FinishReason = "stop",
            Tokens = [new TokenLogprob("Hello", [72, 101, 108, 108, 111], -0.1, [new TopLogprob("Hello", [72, 101, 108, 108, 111], -0.1), new TopLogprob("Hi", [72, 105], -2.5)])],
            Usage = new TokenUsage(5, completionTokens),
            CostUsd = cost,
            RequestHash = new string('a', 63) + id.Length,
            Timestamp = at ?? new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero),
        });

    [Fact]
    public async Task Rows_are_openai_fine_tuning_rows_plus_one_distillery_field_and_read_back_equal()
    {
        using var dir = new ScratchFolder();
        await using (var writer = await DatasetWriter.OpenAsync(dir.Path))
        {
            await writer.AppendAsync(Row("a"));
            await writer.AppendAsync(Row("b", "Ünïcode ✓"));
        }

        var lines = await File.ReadAllLinesAsync(DatasetFolder.DataPath(dir.Path));
        Assert.Equal(2, lines.Length);
        using var doc = JsonDocument.Parse(lines[1]);
        Assert.Equal(["messages", "distillery"], doc.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("assistant", doc.RootElement.GetProperty("messages")[1].GetProperty("role").GetString());
        Assert.Contains("Ünïcode ✓", lines[1], StringComparison.Ordinal);
        // The logprobs lie in the sidecar: the row says where.
        var provenance = doc.RootElement.GetProperty("distillery");
        Assert.Equal(0, provenance.GetProperty("tokens").GetArrayLength());
        Assert.True(provenance.GetProperty("logprobs").GetProperty("offset").GetInt64() > 0);

        var rows = await DatasetReader.ReadAllRowsAsync(dir.Path);
        Assert.Equal(["a", "b"], rows.Select(r => r.Distillery!.PromptId));
        Assert.Equal("Ünïcode ✓", rows[1].Messages[1].Content);
        Assert.Equal([72, 105], rows[0].Distillery!.Tokens[0].TopLogprobs[1].Bytes);
        Assert.Equal(-2.5, rows[1].Distillery!.Tokens[0].TopLogprobs[1].Logprob);
        Assert.Equal(new TokenUsage(5, 2), rows[0].Distillery!.Usage);
    }

    [Fact]
    public async Task A_torn_last_line_is_skipped_by_the_reader_and_cut_by_the_writer()
    {
        using var dir = new ScratchFolder();
        await using (var writer = await DatasetWriter.OpenAsync(dir.Path))
        {
            await writer.AppendAsync(Row("a"));
            await writer.AppendAsync(Row("b"));
        }
        var path = DatasetFolder.DataPath(dir.Path);
        var whole = await File.ReadAllBytesAsync(path);
        var torn = whole[..^25];
        await File.WriteAllBytesAsync(path, torn);

        Assert.Single(await DatasetReader.ReadAllRowsAsync(dir.Path));
        await using (var writer = await DatasetWriter.OpenAsync(dir.Path))
        {
            Assert.Equal(torn.Length - Array.IndexOf(whole, (byte)'\n') - 1, writer.TornBytesRemoved);
            await writer.AppendAsync(Row("c"));
        }
        Assert.Equal(["a", "c"], (await DatasetReader.ReadAllRowsAsync(dir.Path)).Select(r => r.Distillery!.PromptId));
    }

    [Fact]
    public async Task A_file_that_is_one_torn_line_is_emptied()
    {
        using var dir = new ScratchFolder();
        await File.WriteAllTextAsync(DatasetFolder.DataPath(dir.Path), "{\"messages\":[{\"ro");
        await using var writer = await DatasetWriter.OpenAsync(dir.Path);
        Assert.Equal(17, writer.TornBytesRemoved);
        Assert.Equal(0, new FileInfo(DatasetFolder.DataPath(dir.Path)).Length);
    }

    [Fact]
    public async Task A_bad_complete_line_is_reported_at_file_line()
    {
        using var dir = new ScratchFolder();
        var path = DatasetFolder.DataPath(dir.Path);
        var good = JsonSerializer.Serialize(Row("a"), DatasetJson.Compact);
        await File.WriteAllTextAsync(path, $"{good}\n{{oops\n{good}\n", new UTF8Encoding(false));

        var e = await Assert.ThrowsAsync<InputException>(() => DatasetReader.ReadAllRowsAsync(dir.Path));
        Assert.StartsWith($"{path}:2: not a dataset row", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rewrite_and_manifest_replace_files_whole()
    {
        using var dir = new ScratchFolder();
        await using var writer = await DatasetWriter.OpenAsync(dir.Path);
        await writer.AppendAsync(Row("b"));
        await writer.AppendAsync(Row("a"));
        var rows = await DatasetReader.ReadAllRowsAsync(dir.Path);
        await writer.RewriteAsync(rows.Reverse());
        await writer.AppendAsync(Row("c"));
        Assert.Equal(["a", "b", "c"], (await DatasetReader.ReadAllRowsAsync(dir.Path)).Select(r => r.Distillery!.PromptId));

        var manifest = new DatasetManifest { Teachers = TeacherContributions.FromRows(rows), CostUsd = 0.002m };
        await writer.WriteManifestAsync(manifest);
        var back = (await DatasetReader.ReadManifestAsync(dir.Path))!;
        Assert.Equal("distillery-dataset/1", back.Format);
        Assert.Equal(2, Assert.Single(back.Teachers).Rows);
        Assert.False(File.Exists(DatasetFolder.ManifestPath(dir.Path) + ".tmp"));
    }

    [Fact]
    public async Task Reorder_moves_lines_byte_for_byte_and_refuses_a_count_that_does_not_match()
    {
        using var dir = new ScratchFolder();
        await using var writer = await DatasetWriter.OpenAsync(dir.Path);
        foreach (var id in new[] { "c", "a", "b" }) await writer.AppendAsync(Row(id));
        var path = DatasetFolder.DataPath(dir.Path);
        var before = await File.ReadAllLinesAsync(path);

        Assert.False(await writer.ReorderLinesAsync([0, 1]));
        Assert.Equal(before, await File.ReadAllLinesAsync(path));

        Assert.True(await writer.ReorderLinesAsync([1, 2, 0]));
        Assert.Equal([before[1], before[2], before[0]], await File.ReadAllLinesAsync(path));
        Assert.Equal(0, await writer.AppendAsync(Row("d"))); // positions count from the swap
        Assert.Equal(["a", "b", "c", "d"], (await DatasetReader.ReadAllRowsAsync(dir.Path)).Select(r => r.Distillery!.PromptId));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void Contributions_group_by_teacher_and_span_dates()
    {
        var day = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var rows = new[]
        {
            Row("a", at: day.AddDays(2)), Row("b", at: day), Row("c", provider: "gguf", model: "tiny.gguf", completionTokens: 10, cost: 0),
            new DatasetRow([ChatMessage.User("q"), ChatMessage.Assistant("12345678")], null),
        };
        var c = TeacherContributions.FromRows(rows);
        Assert.Equal(["gguf:tiny.gguf", "none:", "openai:gpt-x"], c.Select(x => x.ToString()));
        var openai = c[2];
        Assert.Equal(2, openai.Rows);
        Assert.Equal(new TokenUsage(10, 4), openai.Tokens);
        Assert.Equal(0.002m, openai.CostUsd);
        Assert.Equal(day, openai.First);
        Assert.Equal(day.AddDays(2), openai.Last);
        Assert.Equal(2, c[1].Tokens.CompletionTokens);
    }
}
