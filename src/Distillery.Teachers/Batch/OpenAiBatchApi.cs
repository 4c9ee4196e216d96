// The SDK marks its batch client experimental (OPENAI001); this adapter is the one place Distillery uses it.
#pragma warning disable OPENAI001
using System;
using System.ClientModel;
using System.ClientModel.Primitives;
using System.IO;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using OpenAI;
using OpenAI.Batch;
using OpenAI.Files;

namespace Distillery.Teachers.Batch;

/// <summary>A batch as the provider reports it: state, result files and request counts.</summary>
/// <param name="Id">The batch id.</param>
/// <param name="State">The batch's status text.</param>
/// <param name="OutputFileId">The output file, once there is one.</param>
/// <param name="ErrorFileId">The error file, once there is one.</param>
/// <param name="Total">Requests in the batch.</param>
/// <param name="Completed">Requests answered.</param>
/// <param name="Failed">Requests failed.</param>
public sealed record BatchSnapshot(string Id, string State, string? OutputFileId, string? ErrorFileId, int Total, int Completed, int Failed)
{
    /// <summary>Whether the batch will not change any more: completed, failed, expired or cancelled.</summary>
    public bool IsFinal => State is "completed" or "failed" or "expired" or "cancelled";
}

/// <summary>The OpenAI Batch API through the official SDK's file and batch clients: upload an input file, create a batch, look at it, find it by its metadata, download its files.</summary>
/// <remarks>The SDK's own retries are off: a create retried blindly could start a second batch of the same requests.</remarks>
public sealed class OpenAiBatchApi
{
    /// <summary>The metadata key holding Distillery's client job id on every batch it creates.</summary>
    public const string JobMetadataKey = "distillery_job";

    private readonly BatchClient batches;
    private readonly OpenAIFileClient files;

    /// <summary>Creates the adapter for an OpenAI-compatible base URL and key.</summary>
    public OpenAiBatchApi(Uri baseUrl, string apiKey, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentException.ThrowIfNullOrEmpty(apiKey);
        var client = new OpenAIClient(new ApiKeyCredential(apiKey), new OpenAIClientOptions
        {
            Endpoint = baseUrl,
            NetworkTimeout = timeout,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        });
        batches = client.GetBatchClient();
        files = client.GetOpenAIFileClient();
    }

    /// <summary>Uploads a JSONL input file with purpose <c>batch</c>; returns its file id.</summary>
    public async Task<string> UploadAsync(Stream content, string fileName, CancellationToken cancellationToken = default) =>
        (await files.UploadFileAsync(content, fileName, FileUploadPurpose.Batch, cancellationToken)).Value.Id;

    /// <summary>Creates a batch of the file's chat completions with a 24-hour window, carrying the job id in its metadata; returns the batch id.</summary>
    public async Task<string> CreateAsync(string inputFileId, string jobId, CancellationToken cancellationToken = default)
    {
        var request = BinaryData.FromObjectAsJson(new
        {
            input_file_id = inputFileId,
            endpoint = BatchRequestLine.Url,
            completion_window = "24h",
            metadata = new System.Collections.Generic.Dictionary<string, string> { [JobMetadataKey] = jobId },
        });
        var operation = await batches.CreateBatchAsync(BinaryContent.Create(request), waitUntilCompleted: false, Options(cancellationToken));
        return operation.BatchId;
    }

    /// <summary>The batch as it stands.</summary>
    public async Task<BatchSnapshot> GetAsync(string batchId, CancellationToken cancellationToken = default)
    {
        var result = await batches.GetBatchAsync(batchId, Options(cancellationToken));
        using var document = JsonDocument.Parse(result.GetRawResponse().Content);
        var root = document.RootElement;
        string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        int Count(string name) => root.TryGetProperty("request_counts", out var c) && c.ValueKind == JsonValueKind.Object && c.TryGetProperty(name, out var n) && n.TryGetInt32(out var i) ? i : 0;
        return new BatchSnapshot(batchId, Text("status") ?? "unknown", Text("output_file_id"), Text("error_file_id"), Count("total"), Count("completed"), Count("failed"));
    }

    /// <summary>The id of the batch whose metadata carries <paramref name="jobId"/>, or null when none was ever created (newest batches first).</summary>
    public async Task<string?> FindAsync(string jobId, CancellationToken cancellationToken = default)
    {
        await foreach (var batch in batches.GetBatchesAsync(new BatchCollectionOptions { PageSizeLimit = 100 }, cancellationToken))
            if (batch.Metadata is { } metadata && metadata.TryGetValue(JobMetadataKey, out var id) && id == jobId) return batch.Id;
        return null;
    }

    /// <summary>A file's content (an output or error file) as it downloads, not buffered: an output file of 50,000 answers with logprobs is hundreds of megabytes.</summary>
    public async Task<Stream> OpenDownloadAsync(string fileId, CancellationToken cancellationToken = default)
    {
        var result = await files.DownloadFileAsync(fileId, new RequestOptions { CancellationToken = cancellationToken, BufferResponse = false });
        return result.GetRawResponse().ContentStream ?? throw new IOException($"file {fileId}: the download has no content");
    }

    private static RequestOptions Options(CancellationToken cancellationToken) => new() { CancellationToken = cancellationToken };
}
