using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Ledger;
using Distillery.Core.Provenance;
using Distillery.Core.Tokens;
using Distillery.TestSupport.Databases;
using Distillery.TestSupport.Files;
using Npgsql;

namespace Distillery.Core.Tests.Ledger;

/// <summary>The ledger's stored response (<see cref="ResponseCodec"/>): the compact form gives back the response at float16, which is what a dataset row keeps, and older forms still read, in SQLite and PostgreSQL.</summary>
public sealed class StoredResponseTests
{
    private static readonly TeacherIdentity Teacher = new("openai", "gpt-x", "https://api.example.com/v1");
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    private static readonly LedgerLease Mine = new("me", TimeSpan.FromSeconds(30));

    public static TheoryData<string> Styles => new() { "openai", "local" };

    [Theory]
    [MemberData(nameof(Styles))]
    public void A_stored_response_reads_back_as_the_response_at_float16_and_nothing_else_changes(string style)
    {
        var response = Sample(style);
        var back = ResponseCodec.Decode(ResponseCodec.Encode(response), response.Model, response.Usage);
        Assert.Equal(Describe(ResponseCodec.AtStoredPrecision(response)), Describe(back));
        // The sample's logprobs are not all float16 values: the form does round them, and only them.
        Assert.NotEqual(Describe(response), Describe(back));
        Assert.Equal(Describe(ResponseCodec.AtStoredPrecision(back)), Describe(back));
    }

    [Theory]
    [MemberData(nameof(Styles))]
    public async Task A_row_built_from_the_stored_response_is_byte_for_byte_the_row_built_from_the_live_one(string style)
    {
        using var dir = new ScratchFolder();
        var live = Sample(style);
        var stored = ResponseCodec.Decode(ResponseCodec.Encode(live), live.Model, live.Usage);
        foreach (var (name, response) in new[] { ("live", live), ("stored", stored) })
        {
            await using var writer = await DatasetWriter.OpenAsync(dir.File(name));
            await writer.AppendAsync(Row(response));
        }
        foreach (var file in new[] { DatasetFolder.DataFile, "tokens.bin", "logprobs.bin" })
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(dir.File("live"), file)), await File.ReadAllBytesAsync(Path.Combine(dir.File("stored"), file)));
        // And the row read back carries the same tokens as the ledger gives.
        var row = Assert.Single(await DatasetReader.ReadAllRowsAsync(dir.File("live")));
        Assert.Equal(Describe(stored), Describe(live with { Tokens = row.Distillery!.Tokens }));
    }

    [Fact]
    public void The_json_forms_of_older_ledgers_still_read_with_their_full_precision()
    {
        var response = Sample("openai") with { Tokens = [.. Sample("openai").Tokens.Where(t => double.IsFinite(t.Logprob))] };
        var json = JsonSerializer.Serialize(response, DatasetJson.Compact);
        Assert.Equal(Describe(response), Describe(ResponseCodec.FromJson(json)));
        Assert.Equal(Describe(response), Describe(ResponseCodec.Decode(BrotliJson(json), "ignored", TokenUsage.Zero)));
    }

    [Fact]
    public void A_damaged_stored_response_is_refused_not_misread()
    {
        var response = Sample("local");
        var stored = ResponseCodec.Encode(response);
        Assert.Throws<InvalidDataException>(() => ResponseCodec.Decode(stored[..(stored.Length / 2)], response.Model, response.Usage));
        var compact = Decompress(stored);
        foreach (var cut in new[] { compact.Length - 1, compact.Length / 2, 5 })
            Assert.Throws<InvalidDataException>(() => ResponseCodec.Decode(Compress(compact[..cut]), response.Model, response.Usage));
        Assert.Throws<InvalidDataException>(() => ResponseCodec.Decode(Compress([.. compact, 0]), response.Model, response.Usage));
        Assert.Throws<InvalidDataException>(() => ResponseCodec.Decode(BrotliJson("{\"text\": 3"), "m", TokenUsage.Zero));
    }

    [Fact]
    public async Task Sqlite_stores_the_compact_form_and_still_reads_each_older_form()
    {
        using var dir = new ScratchFolder();
        var path = dir.File("ledger.db");
        await using (var ledger = await TeacherLedger.OpenAsync(path))
            await StoresCompactAndReadsOlderFormsAsync(ledger, async (sql, parameter) =>
            {
                await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False");
                await connection.OpenAsync();
                await using var command = connection.CreateCommand();
                command.CommandText = sql.Replace("@", "$", StringComparison.Ordinal);
                command.Parameters.AddWithValue("$value", parameter);
                await command.ExecuteNonQueryAsync();
            });
    }

    [PostgresFact]
    public async Task Postgres_stores_the_compact_form_and_still_reads_each_older_form()
    {
        await using var database = await PostgresTestDatabase.CreateAsync();
        await using var ledger = await TeacherLedger.OpenAsync(database.Url);
        await StoresCompactAndReadsOlderFormsAsync(ledger, async (sql, parameter) =>
        {
            await using var connection = new NpgsqlConnection(LedgerLocation.ConnectionString(database.Url));
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.AddWithValue("value", parameter);
            await command.ExecuteNonQueryAsync();
        });
    }

    /// <summary>Answers three requests, then rewrites two rows as older versions stored them (form 1 in <c>response_br</c>, form 0 in <c>response</c>); each reads back, and a damaged one is a one-line error naming its request.</summary>
    private static async Task StoresCompactAndReadsOlderFormsAsync(TeacherLedger ledger, Func<string, object, Task> execute)
    {
        var response = Sample("local") with { AnsweredBy = "pool-a" };
        foreach (var hash in new[] { "compact", "form1", "form0", "damaged" })
        {
            await ledger.ClaimAsync(hash, Teacher, "{}", Mine, T0);
            await ledger.RecordAnsweredAsync(hash, response, 0.5m, 0, T0);
        }
        var old = Sample("openai") with { Tokens = [.. Sample("openai").Tokens.Where(t => double.IsFinite(t.Logprob))] };
        var json = JsonSerializer.Serialize(old, DatasetJson.Compact);
        await execute("UPDATE requests SET response_br = @value WHERE hash = 'form1'", BrotliJson(json));
        await execute("UPDATE requests SET response_br = NULL, response = @value WHERE hash = 'form0'", json);
        await execute("UPDATE requests SET response_br = @value WHERE hash = 'damaged'", new byte[] { 1, 2, 3 });

        var compact = (await ledger.FindAsync("compact"))!;
        Assert.Equal(Describe(ResponseCodec.AtStoredPrecision(response)), Describe(compact.Response!));
        Assert.Equal((response.Model, response.Usage), (compact.ModelReported, compact.Usage));
        Assert.Equal(Describe(old), Describe((await ledger.FindAsync("form1"))!.Response!));
        Assert.Equal(Describe(old), Describe((await ledger.FindAsync("form0"))!.Response!));
        var e = await Assert.ThrowsAsync<DistilleryException>(() => ledger.FindAsync("damaged"));
        Assert.Contains("request damaged", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    /// <summary>
    /// An answer as an API teacher returns it ("openai": no token ids, a token whose bytes are half a UTF-8 character, a
    /// chosen token outside its alternatives, −0 and −∞) or a local teacher does ("local": ids, sampled tokens with repeats,
    /// the endpoint of a pool); logprobs that are not float16 values.
    /// </summary>
    private static Completion Sample(string style)
    {
        var local = style == "local";
        var words = new[] { " the", " a", " dog", "\u00e9t\u00e9", "\\xe2\\x80", " cat", ".", "\n" };
        int[] BytesOf(int w) => w == 4 ? [0xE2, 0x80] : [.. Encoding.UTF8.GetBytes(words[w]).Select(b => (int)b)];
        TopLogprob Alternative(int w, double logprob) => new(words[w], BytesOf(w), logprob) { Id = local ? 100 + w * 37 : null };
        var random = new Random(11);
        var tokens = Enumerable.Range(0, 40).Select(p =>
        {
            var top = Enumerable.Range(0, 5).Select(i => Alternative((p + i * 3) % words.Length, -0.137 * i - random.NextDouble() * 0.1)).ToArray();
            var (chosen, logprob) = p switch
            {
                7 => (5, -9.123456), // sampled outside the top-5
                9 => (top[1].Token == words[1] ? 2 : 1, -0.4), // a token among them, with another logprob
                11 => (Array.IndexOf(words, top[0].Token), -0.0),
                13 => (Array.IndexOf(words, top[0].Token), double.NegativeInfinity),
                _ => (Array.IndexOf(words, top[p % 5].Token), top[p % 5].Logprob),
            };
            if (p == 13) top[4] = top[4] with { Logprob = double.NegativeInfinity };
            var choice = Alternative(chosen, logprob);
            return new TokenLogprob(choice.Token, choice.Bytes, logprob, top)
            {
                Id = choice.Id,
                SampledLogprobs = local && p % 3 != 0 ? [top[0], top[0], Alternative(6, -7.77777)] : null,
            };
        }).ToArray();
        var text = string.Concat(tokens.Select(t => t.Token));
        return new Completion(text, tokens, local ? "length" : "stop", local ? "stories260K" : "gpt-x-2026-01", new TokenUsage(12, tokens.Length))
        {
            AnsweredBy = local ? "pool-a" : null,
        };
    }

    private static DatasetRow Row(Completion response) => new([ChatMessage.User("hi"), ChatMessage.Assistant(response.Text)], new RowProvenance
    {
        PromptId = "p1",
        Teacher = new RowTeacher { Provider = "openai", Model = response.Model, RequestedModel = "gpt-x", Endpoint = "e", AnsweredBy = response.AnsweredBy, Sampling = new SamplingParameters() },
        FinishReason = response.FinishReason,
        Tokens = response.Tokens,
        Usage = response.Usage,
        RequestHash = "h",
        Timestamp = T0,
    });

    /// <summary>Every field of a response, logprobs as their bits (so −0, −∞ and the last bit count).</summary>
    private static string Describe(Completion c)
    {
        static string Token(string token, System.Collections.Generic.IReadOnlyList<int> bytes, double logprob, int? id) =>
            $"{token}|{string.Join(',', bytes)}|{BitConverter.DoubleToInt64Bits(logprob):X}|{id}";
        var header = $"{c.Text}|{c.FinishReason}|{c.Model}|{c.Usage}|{c.AnsweredBy ?? "(none)"}";
        return string.Join('\n', new[] { header }.Concat(c.Tokens.Select(t => Token(t.Token, t.Bytes, t.Logprob, t.Id)
            + " top " + string.Join(";", t.TopLogprobs.Select(a => Token(a.Token, a.Bytes, a.Logprob, a.Id)))
            + " sampled " + (t.SampledLogprobs is null ? "(none)" : string.Join(";", t.SampledLogprobs.Select(s => Token(s.Token, s.Bytes, s.Logprob, s.Id)))))));
    }

    /// <summary>Form 1: the JSON Brotli-compressed, as ledgers up to the compact form stored it.</summary>
    private static byte[] BrotliJson(string json) => Compress(Encoding.UTF8.GetBytes(json));

    private static byte[] Compress(byte[] bytes)
    {
        var buffer = new byte[BrotliEncoder.GetMaxCompressedLength(bytes.Length)];
        Assert.True(BrotliEncoder.TryCompress(bytes, buffer, out var written, 5, 22));
        return buffer[..written];
    }

    private static byte[] Decompress(byte[] stored)
    {
        using var output = new MemoryStream();
        using (var brotli = new BrotliStream(new MemoryStream(stored), CompressionMode.Decompress)) brotli.CopyTo(output);
        return output.ToArray();
    }
}
