using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Distillery.Core.Datasets;
using Distillery.Core.Datasets.Sidecar;
using Distillery.Core.Errors;
using Distillery.Core.Tokens;
using Distillery.TestSupport.Files;

namespace Distillery.Core.Tests.Datasets;

public sealed class LogprobSidecarTests
{
    /// <summary>float16 keeps 11 significant bits: a relative error of at most 2⁻¹¹.</summary>
    private const double HalfRelative = 1.0 / 2048;

    private static DatasetRow Row(string id, IReadOnlyList<TokenLogprob> tokens) =>
        DatasetTests.Row(id) with { Distillery = DatasetTests.Row(id).Distillery! with { Tokens = tokens } };

    /// <summary>Tokens with everything the format must keep: ids, a token whose text is not its bytes' UTF-8, −∞ (not in JSON), sampled lists (empty, repeated) and none.</summary>
    private static TokenLogprob[] Tokens(int seed, bool infinity = false)
    {
        var random = new Random(seed);
        var result = new TokenLogprob[40];
        for (var p = 0; p < result.Length; p++)
        {
            var top = Enumerable.Range(0, 20).Select(k => (p * 7 + k) % 53).Select((j, k) => new TopLogprob("t" + j, Utf8("t" + j), -k * 0.731 - random.NextDouble()) { Id = k % 3 == 0 ? null : j }).ToList();
            if (p == 3 && infinity) top[19] = new TopLogprob("x", [120], double.NegativeInfinity);
            result[p] = new TokenLogprob(p == 5 ? "bytes:\\xe2" : "tok" + p, p == 5 ? [0xE2] : Utf8("tok" + p), -random.NextDouble() * 3, top)
            {
                Id = p % 4 == 0 ? null : p,
                SampledLogprobs = (p % 3) switch { 0 => null, 1 => [], _ => [top[0], top[0], top[2]] },
            };
        }
        return result;
    }

    private static int[] Utf8(string text) => [.. System.Text.Encoding.UTF8.GetBytes(text).Select(b => (int)b)];

    private static void AssertSame(IReadOnlyList<TokenLogprob> expected, IReadOnlyList<TokenLogprob> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var p = 0; p < expected.Count; p++)
        {
            var (e, a) = (expected[p], actual[p]);
            Assert.Equal((e.Token, e.Id), (a.Token, a.Id));
            Assert.Equal(e.Bytes, a.Bytes);
            AssertClose(e.Logprob, a.Logprob);
            AssertSameList(e.TopLogprobs, a.TopLogprobs);
            Assert.Equal(e.SampledLogprobs is null, a.SampledLogprobs is null);
            if (e.SampledLogprobs is not null) AssertSameList(e.SampledLogprobs, a.SampledLogprobs!);
        }
    }

    private static void AssertSameList(IReadOnlyList<TopLogprob> expected, IReadOnlyList<TopLogprob> actual)
    {
        Assert.Equal(expected.Select(t => (t.Token, t.Id, string.Join(",", t.Bytes))), actual.Select(t => (t.Token, t.Id, string.Join(",", t.Bytes))));
        for (var i = 0; i < expected.Count; i++) AssertClose(expected[i].Logprob, actual[i].Logprob);
    }

    private static void AssertClose(double expected, double actual)
    {
        if (double.IsNegativeInfinity(expected)) Assert.Equal(expected, actual);
        else Assert.True(Math.Abs(expected - actual) <= Math.Abs(expected) * HalfRelative + 1e-7, $"{actual} is not {expected} at float16 precision");
    }

    [Fact]
    public async Task Rows_round_trip_through_the_sidecar_at_float16_precision()
    {
        using var dir = new ScratchFolder();
        var rows = Enumerable.Range(0, 5).Select(i => Row("r" + i, Tokens(i, infinity: true))).ToList();
        await using (var writer = await DatasetWriter.OpenAsync(dir.Path))
            foreach (var row in rows) await writer.AppendAsync(row);

        var back = await DatasetReader.ReadAllRowsAsync(dir.Path);
        Assert.Equal(rows.Count, back.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            AssertSame(rows[i].Distillery!.Tokens, back[i].Distillery!.Tokens);
            Assert.Equal(rows[i].Messages, back[i].Messages);
        }
        // Each distinct token is stored once: at most 53 alternatives ("t0".."t52") with and without an id, 40 chosen, "x".
        var (table, _) = TokenTable.Read(await File.ReadAllBytesAsync(LogprobSidecar.TokensPath(dir.Path)));
        Assert.InRange(table.Entries.Count, 53, 53 * 2 + 40 + 1);
        Assert.Equal(table.Entries.Count, table.Entries.Distinct().Count());
    }

    [Fact]
    public async Task An_old_dataset_with_inline_logprobs_loads_and_rewriting_it_moves_them_to_the_sidecar()
    {
        using var dir = new ScratchFolder();
        var rows = Enumerable.Range(0, 3).Select(i => Row("r" + i, Tokens(i))).ToList();
        await using (var writer = await DatasetWriter.OpenAsync(dir.Path))
            await writer.RewriteLinesAsync(rows.Select(r => JsonSerializer.Serialize(r, DatasetJson.Compact)));
        Assert.False(File.Exists(LogprobSidecar.LogprobsPath(dir.Path)));
        var inline = await DatasetReader.ReadAllRowsAsync(dir.Path);
        Assert.Equal(rows[1].Distillery!.Tokens[2].TopLogprobs[3].Logprob, inline[1].Distillery!.Tokens[2].TopLogprobs[3].Logprob); // exact: JSON doubles
        var before = new FileInfo(DatasetFolder.DataPath(dir.Path)).Length;

        await using (var writer = await DatasetWriter.OpenAsync(dir.Path)) await writer.RewriteAsync(inline);

        var compact = await DatasetReader.ReadAllRowsAsync(dir.Path);
        for (var i = 0; i < rows.Count; i++) AssertSame(rows[i].Distillery!.Tokens, compact[i].Distillery!.Tokens);
        var after = new FileInfo(DatasetFolder.DataPath(dir.Path)).Length + new FileInfo(LogprobSidecar.LogprobsPath(dir.Path)).Length + new FileInfo(LogprobSidecar.TokensPath(dir.Path)).Length;
        Assert.True(after * 5 < before, $"compact {after} bytes against {before} inline");
    }

    [Fact]
    public async Task Blocks_and_tokens_a_crash_left_without_their_row_are_cut_when_the_writer_reopens()
    {
        using var dir = new ScratchFolder();
        await using (var writer = await DatasetWriter.OpenAsync(dir.Path))
        {
            await writer.AppendAsync(Row("a", Tokens(1)));
            await writer.AppendAsync(Row("b", Tokens(2)));
        }
        var blocks = LogprobSidecar.LogprobsPath(dir.Path);
        var tokens = LogprobSidecar.TokensPath(dir.Path);
        var whole = new FileInfo(blocks).Length;
        // A crash after the sidecar writes and before the row: an orphan block, and a token entry cut short.
        await using (var writer = await DatasetWriter.OpenAsync(dir.Path)) await writer.AppendAsync(Row("c", Tokens(3)));
        var data = await File.ReadAllLinesAsync(DatasetFolder.DataPath(dir.Path));
        await File.WriteAllLinesAsync(DatasetFolder.DataPath(dir.Path), data[..2]);
        await using (var append = new FileStream(tokens, FileMode.Append)) append.Write([1, 200]);

        await using (var writer = await DatasetWriter.OpenAsync(dir.Path))
        {
            Assert.Equal(whole, new FileInfo(blocks).Length);
            await writer.AppendAsync(Row("d", Tokens(4)));
        }
        var back = await DatasetReader.ReadAllRowsAsync(dir.Path);
        Assert.Equal(["a", "b", "d"], back.Select(r => r.Distillery!.PromptId));
        AssertSame(Tokens(4), back[2].Distillery!.Tokens);
        AssertSame(Tokens(2), back[1].Distillery!.Tokens);
    }

    [Fact]
    public async Task A_damaged_or_missing_sidecar_is_an_input_error_naming_the_file()
    {
        using var dir = new ScratchFolder();
        await using (var writer = await DatasetWriter.OpenAsync(dir.Path))
            foreach (var i in new[] { 1, 2 }) await writer.AppendAsync(Row("r" + i, Tokens(i)));
        var blocks = LogprobSidecar.LogprobsPath(dir.Path);
        var tokens = LogprobSidecar.TokensPath(dir.Path);
        var original = await File.ReadAllBytesAsync(blocks);

        await File.WriteAllBytesAsync(blocks, original[..^10]);
        var e = await Assert.ThrowsAsync<InputException>(() => DatasetReader.ReadAllRowsAsync(dir.Path));
        Assert.StartsWith($"{DatasetFolder.DataPath(dir.Path)}:2: refers to bytes", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InputException>(() => DatasetWriter.OpenAsync(dir.Path));

        var flipped = original.ToArray();
        flipped[0] ^= 0xFF;
        await File.WriteAllBytesAsync(blocks, flipped);
        e = await Assert.ThrowsAsync<InputException>(() => DatasetReader.ReadAllRowsAsync(dir.Path));
        Assert.StartsWith($"{blocks}: is not a Distillery logprob file", e.Message, StringComparison.Ordinal);

        await File.WriteAllBytesAsync(blocks, original);
        File.Delete(tokens);
        e = await Assert.ThrowsAsync<InputException>(() => DatasetReader.ReadAllRowsAsync(dir.Path));
        Assert.StartsWith($"{tokens}: is missing", e.Message, StringComparison.Ordinal);
    }
}
