using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Ledger;
using Distillery.Core.Provenance;
using Microsoft.Data.Sqlite;

namespace TeachersBench;

/// <summary>
/// Bytes per completion token of the dataset and the ledger together, with the ledger's stored response in each of its forms
/// (ResponseCodec): the answers of an existing ledger (the demo's, top-20 logprobs from a real model) are written once per
/// form (form 0: the JSON as text; form 1: the JSON Brotli-compressed; form 2: the compact form through <see cref="TeacherLedger"/>
/// as it is now), and once as a dataset folder (data.jsonl and the sidecar), at top-20 and cut to top-5.
/// </summary>
public static class LedgerBytes
{
    /// <summary>The marker lines around this section in teachers.md (the throughput report keeps the section when it rewrites the file).</summary>
    public const string Start = "<!-- ledger-bytes:start -->";

    /// <inheritdoc cref="Start"/>
    public const string End = "<!-- ledger-bytes:end -->";

    /// <summary>Measures <paramref name="source"/>'s answers and returns the markdown section.</summary>
    public static async Task<string> MeasureAsync(string source, string work)
    {
        await using var input = await TeacherLedger.OpenAsync(source);
        var entries = (await input.ReadAllAsync()).Where(e => e is { Status: LedgerStatus.Answered, Response: not null }).ToList();
        var tokens = entries.Sum(e => (long)e.Usage.CompletionTokens);
        var table = new StringBuilder();
        foreach (var k in new[] { 20, 5 })
        {
            var responses = entries.Select(e => CutTopK(e.Response!, k)).ToList();
            var bytes = new long[4];
            for (var form = 0; form < 2; form++)
            {
                var path = Path.Combine(work, $"form{form}-top{k}.db");
                await WriteOldFormAsync(path, entries, responses, form);
                bytes[form] = new FileInfo(path).Length;
            }
            var compact = Path.Combine(work, $"form2-top{k}.db");
            await WriteCurrentAsync(compact, entries, responses);
            bytes[2] = new FileInfo(compact).Length;
            var data = Path.Combine(work, $"data-top{k}");
            await WriteDatasetAsync(data, entries, responses);
            bytes[3] = DatasetConversion.DataBytes(data);
            string PerToken(long b) => ((double)b / tokens).ToString("F0", CultureInfo.InvariantCulture);
            table.AppendLine(CultureInfo.InvariantCulture,
                $"| top-{k} | {entries.Count} | {tokens:N0} | {PerToken(bytes[0])} | {PerToken(bytes[1])} | {PerToken(bytes[2])} | {PerToken(bytes[3])} | {PerToken(bytes[3] + bytes[1])} | **{PerToken(bytes[3] + bytes[2])}** | {(double)bytes[1] / bytes[2]:F1}× |");
        }
        return $"""
            {Start}
            ## Bytes per completion token: dataset and ledger

            Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC with `dotnet run -c Release --project bench/TeachersBench -- --ledger-bytes LEDGER.db`
            on the demo's training-split ledger ({Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(source)))}/ledger.db: answers of the stories260K teacher served
            over the OpenAI API, 96 tokens, top-20 logprobs), and on the same answers cut to top-5. The ledger columns are bytes of a SQLite file
            written row by row and closed, with the stored response in each form (docs/ledger-format.md): **form 0** the response's JSON as text
            (the first ledgers), **form 1** that JSON Brotli-compressed (up to this change), **form 2** the compact form Brotli-compressed (now).
            **Data** is the dataset folder made from the same answers (data.jsonl and the sidecar). The target of issue 18 is 150 bytes per
            completion token for data and ledger together at top-20.

            | logprobs | requests | completion tokens | ledger, form 0 (B/token) | ledger, form 1 | ledger, form 2 | data | data + ledger before (form 1) | data + ledger now (form 2) | ledger smaller by (1 → 2) |
            | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
            {table.ToString().TrimEnd()}
            {End}
            """;
    }

    /// <summary>A response with each token's alternatives cut to the first <paramref name="k"/>.</summary>
    private static Completion CutTopK(Completion response, int k) =>
        response with { Tokens = [.. response.Tokens.Select(t => t with { TopLogprobs = [.. t.TopLogprobs.Take(k)] })] };

    /// <summary>A ledger in the layout of form 0 (the JSON as text, before claims) or form 1 (the JSON Brotli-compressed in <c>response_br</c>, as up to form 2).</summary>
    private static async Task WriteOldFormAsync(string path, List<LedgerEntry> entries, List<Completion> responses, int form)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using (var create = connection.CreateCommand())
        {
            create.CommandText = $"""
                PRAGMA journal_mode=WAL;
                CREATE TABLE requests (hash TEXT PRIMARY KEY, provider TEXT NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL, request TEXT NOT NULL,
                    status TEXT NOT NULL, response TEXT, model_reported TEXT, prompt_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
                    cost_usd TEXT NOT NULL DEFAULT '0', sends INTEGER NOT NULL DEFAULT 0, retries INTEGER NOT NULL DEFAULT 0, error TEXT, created_utc TEXT NOT NULL,
                    sent_utc TEXT, completed_utc TEXT, duration_ms REAL{(form == 1 ? ", owner TEXT, lease_utc TEXT, response_br BLOB" : "")});
                """;
            await create.ExecuteNonQueryAsync();
        }
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            var json = JsonSerializer.Serialize(responses[i], DatasetJson.Compact);
            await using var insert = connection.CreateCommand();
            insert.CommandText = $"""
                INSERT INTO requests (hash, provider, model, endpoint, request, status, {(form == 1 ? "response_br" : "response")}, model_reported, prompt_tokens, completion_tokens, cost_usd, sends, created_utc, sent_utc, completed_utc, duration_ms)
                VALUES ($hash, $provider, $model, $endpoint, $request, 'answered', $response, $reported, $prompt, $completion, '0', 1, $t, $t, $t, 1.5)
                """;
            insert.Parameters.AddWithValue("$hash", e.Hash);
            insert.Parameters.AddWithValue("$provider", e.Provider);
            insert.Parameters.AddWithValue("$model", e.Model);
            insert.Parameters.AddWithValue("$endpoint", e.Endpoint);
            insert.Parameters.AddWithValue("$request", e.Request);
            insert.Parameters.AddWithValue("$response", form == 1 ? Brotli(json) : json);
            insert.Parameters.AddWithValue("$reported", e.ModelReported ?? e.Model);
            insert.Parameters.AddWithValue("$prompt", e.Usage.PromptTokens);
            insert.Parameters.AddWithValue("$completion", e.Usage.CompletionTokens);
            insert.Parameters.AddWithValue("$t", "2026-12-02T00:00:00.0000000Z");
            await insert.ExecuteNonQueryAsync();
        }
    }

    /// <summary>Form 1's stored bytes: the JSON, UTF-8, Brotli quality 5 with a 4 MB window.</summary>
    private static byte[] Brotli(string json)
    {
        var utf8 = Encoding.UTF8.GetBytes(json);
        var buffer = new byte[BrotliEncoder.GetMaxCompressedLength(utf8.Length)];
        if (!BrotliEncoder.TryCompress(utf8, buffer, out var written, 5, 22)) throw new InvalidOperationException("Brotli failed");
        return buffer.AsSpan(0, written).ToArray();
    }

    private static async Task WriteCurrentAsync(string path, List<LedgerEntry> entries, List<Completion> responses)
    {
        await using var ledger = await TeacherLedger.OpenAsync(path);
        var lease = LedgerLease.ForThisProcess();
        var now = new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            await ledger.ClaimAsync(e.Hash, new TeacherIdentity(e.Provider, e.Model, e.Endpoint), e.Request, lease, now);
            await ledger.RecordAnsweredAsync(e.Hash, responses[i], e.CostUsd, 0, now);
        }
    }

    /// <summary>The dataset folder <c>distill generate</c> makes of these answers: one row each, its messages from the stored request.</summary>
    private static async Task WriteDatasetAsync(string folder, List<LedgerEntry> entries, List<Completion> responses)
    {
        await using var writer = await DatasetWriter.OpenAsync(folder);
        for (var i = 0; i < entries.Count; i++)
        {
            var (e, response) = (entries[i], responses[i]);
            var request = JsonNode.Parse(e.Request)!;
            var messages = request["messages"].Deserialize<List<ChatMessage>>(DatasetJson.Compact)!;
            var sampling = request["sampling"].Deserialize<SamplingParameters>(DatasetJson.Compact)!;
            await writer.AppendAsync(new DatasetRow([.. messages, ChatMessage.Assistant(response.Text)], new RowProvenance
            {
                PromptId = $"line-{i + 1}",
                Teacher = new RowTeacher { Provider = e.Provider, Model = response.Model, RequestedModel = e.Model, Endpoint = e.Endpoint, Sampling = sampling },
                FinishReason = response.FinishReason,
                Tokens = response.Tokens,
                Usage = response.Usage,
                CostUsd = e.CostUsd,
                RequestHash = e.Hash,
                Timestamp = e.Completed ?? e.Created,
            }));
        }
    }
}
