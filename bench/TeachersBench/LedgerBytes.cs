using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Core.Ledger;
using Distillery.Core.Provenance;
using Microsoft.Data.Sqlite;

namespace TeachersBench;

/// <summary>
/// Ledger bytes per completion token, before and after the ledger stored responses Brotli-compressed (ResponseCodec): the
/// answers of an existing ledger (the demo's, top-20 logprobs from a real model) are written once in the layout from before
/// (the response's JSON as text) and once through <see cref="TeacherLedger"/> as it is now, at top-20 and cut to top-5.
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
        var table = new System.Text.StringBuilder();
        foreach (var k in new[] { 20, 5 })
        {
            var responses = entries.Select(e => k == 20 ? e.Response! : CutTopK(e.Response!, k)).ToList();
            var before = Path.Combine(work, $"before-top{k}.db");
            await WriteOldLayoutAsync(before, entries, responses);
            var after = Path.Combine(work, $"after-top{k}.db");
            await WriteCurrentAsync(after, entries, responses);
            var (b, a) = (new FileInfo(before).Length, new FileInfo(after).Length);
            table.AppendLine(CultureInfo.InvariantCulture, $"| top-{k} | {entries.Count} | {tokens:N0} | {b:N0} | {(double)b / tokens:F0} | {a:N0} | {(double)a / tokens:F0} | {(double)b / a:F1}× |");
        }
        return $"""
            {Start}
            ## Ledger bytes per completion token

            Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC with `dotnet run -c Release --project bench/TeachersBench -- --ledger-bytes LEDGER.db`
            on the demo's training-split ledger ({Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(source)))}/ledger.db: answers of the stories260K teacher, 96 tokens, top-20 logprobs), and on the
            same answers cut to top-5. **Before**: the layout up to this change (each response's JSON as text). **After**: the ledger as it is now (the
            response's JSON Brotli-compressed, quality 5, in `response_br`; claims' owner and lease columns). Both are SQLite files, written row by row and closed.

            | logprobs | requests | completion tokens | before (bytes) | before / token | after (bytes) | after / token | smaller by |
            | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
            {table.ToString().TrimEnd()}

            The dataset's data.jsonl (the other copy, 1,335 bytes per completion token at top-20) is the storage work's part of issue 18 (a compact sidecar).
            {End}
            """;
    }

    /// <summary>A response with each token's alternatives cut to the first <paramref name="k"/>.</summary>
    private static string CutTopK(string response, int k)
    {
        var node = JsonNode.Parse(response)!;
        foreach (var token in node["tokens"]!.AsArray())
        {
            var top = token!["top_logprobs"]!.AsArray();
            while (top.Count > k) top.RemoveAt(top.Count - 1);
        }
        return node.ToJsonString();
    }

    private static async Task WriteOldLayoutAsync(string path, System.Collections.Generic.List<LedgerEntry> entries, System.Collections.Generic.List<string> responses)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using (var create = connection.CreateCommand())
        {
            create.CommandText = """
                PRAGMA journal_mode=WAL;
                CREATE TABLE requests (hash TEXT PRIMARY KEY, provider TEXT NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL, request TEXT NOT NULL,
                    status TEXT NOT NULL, response TEXT, model_reported TEXT, prompt_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
                    cost_usd TEXT NOT NULL DEFAULT '0', sends INTEGER NOT NULL DEFAULT 0, retries INTEGER NOT NULL DEFAULT 0, error TEXT, created_utc TEXT NOT NULL,
                    sent_utc TEXT, completed_utc TEXT, duration_ms REAL);
                """;
            await create.ExecuteNonQueryAsync();
        }
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            await using var insert = connection.CreateCommand();
            insert.CommandText = """
                INSERT INTO requests (hash, provider, model, endpoint, request, status, response, model_reported, prompt_tokens, completion_tokens, cost_usd, sends, created_utc, sent_utc, completed_utc, duration_ms)
                VALUES ($hash, $provider, $model, $endpoint, $request, 'answered', $response, $reported, $prompt, $completion, '0', 1, $t, $t, $t, 1.5)
                """;
            insert.Parameters.AddWithValue("$hash", e.Hash);
            insert.Parameters.AddWithValue("$provider", e.Provider);
            insert.Parameters.AddWithValue("$model", e.Model);
            insert.Parameters.AddWithValue("$endpoint", e.Endpoint);
            insert.Parameters.AddWithValue("$request", e.Request);
            insert.Parameters.AddWithValue("$response", responses[i]);
            insert.Parameters.AddWithValue("$reported", e.ModelReported ?? e.Model);
            insert.Parameters.AddWithValue("$prompt", e.Usage.PromptTokens);
            insert.Parameters.AddWithValue("$completion", e.Usage.CompletionTokens);
            insert.Parameters.AddWithValue("$t", "2026-12-02T00:00:00.0000000Z");
            await insert.ExecuteNonQueryAsync();
        }
    }

    private static async Task WriteCurrentAsync(string path, System.Collections.Generic.List<LedgerEntry> entries, System.Collections.Generic.List<string> responses)
    {
        await using var ledger = await TeacherLedger.OpenAsync(path);
        var lease = LedgerLease.ForThisProcess();
        var now = new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            await ledger.ClaimAsync(e.Hash, new TeacherIdentity(e.Provider, e.Model, e.Endpoint), e.Request, lease, now);
            await ledger.RecordAnsweredAsync(e.Hash, responses[i], e.ModelReported ?? e.Model, e.Usage, e.CostUsd, 0, now);
        }
    }
}
