using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Models.Decoding;
using Distillery.Models.Loading;
using Distillery.TestSupport.Files;

namespace Distillery.Training.Tests.Language;

/// <summary>Datasets written by the real stories260K teacher (seeded, temperature 1), as 'distill generate' would write them.</summary>
public static class StoriesData
{
    /// <summary>The teacher's model spec.</summary>
    public static string TeacherSpec => "llama2c:" + SharedTestData.Get("stories260K/stories260K.bin");

    /// <summary>The teacher's tokenizer file.</summary>
    public static string TokenizerPath => SharedTestData.Get("stories260K/tok512.bin");

    /// <summary>
    /// Writes <paramref name="rows"/> teacher samples of up to <paramref name="maxTokens"/> tokens into a new dataset folder,
    /// sampled under <paramref name="watermark"/> where one is given (as <c>distill serve --watermark-key-env</c> samples);
    /// <paramref name="inline"/>: with the logprobs inline in data.jsonl at full precision, as versions before the sidecar wrote them.
    /// </summary>
    public static async Task<string> WriteAsync(string directory, int rows, int maxTokens, int topLogprobs = 5, int seed = 0, string[]? prompts = null, int sampledLogprobs = 0,
        bool inline = false, GreenListWatermark? watermark = null)
    {
        using var teacher = await ModelLoader.LoadAsync(TeacherSpec);
        var list = new List<DatasetRow>(rows);
        // A 260K-parameter model decodes one token at a time: far below the size where a second thread pays for its
        // synchronisation, which on a busy 2-core machine costs tens of milliseconds per token.
        var threads = TorchSharp.torch.get_num_threads();
        TorchSharp.torch.set_num_threads(1);
        try
        {
            for (var i = 0; i < rows; i++)
            {
                var prompt = prompts is null ? "" : prompts[i % prompts.Length];
                var sampling = new SamplingParameters { Temperature = 1.0, MaxTokens = maxTokens, Seed = seed * 100_000 + i, TopLogprobs = topLogprobs, SampledLogprobs = sampledLogprobs };
                var messages = new List<ChatMessage> { ChatMessage.User(prompt) };
                var result = TextGenerator.Generate(teacher.InferenceWeights(), teacher.Tokenizer, teacher.EncodePrompt(teacher.ChatTemplate.Apply(messages)), sampling, watermark);
                list.Add(new DatasetRow([.. messages, ChatMessage.Assistant(result.Text)], new RowProvenance
                {
                    PromptId = $"p{i}",
                    Teacher = new RowTeacher { Provider = "llama2c", Model = "stories260K", RequestedModel = "stories260K", Endpoint = TeacherSpec, Sampling = sampling },
                    FinishReason = result.FinishReasonText,
                    Tokens = result.Logprobs,
                    Usage = new TokenUsage(result.PromptTokens, result.CompletionTokens),
                    RequestHash = $"hash-{i}",
                    Timestamp = DateTimeOffset.UnixEpoch,
                }));
            }
        }
        finally
        {
            TorchSharp.torch.set_num_threads(threads);
        }
        Directory.CreateDirectory(directory);
        await using (var writer = await DatasetWriter.OpenAsync(directory))
        {
            if (inline) await writer.RewriteLinesAsync(list.Select(r => JsonSerializer.Serialize(r, DatasetJson.Compact)));
            else await writer.RewriteAsync(list);
            await writer.WriteManifestAsync(new DatasetManifest
            {
                Teachers = TeacherContributions.FromRows(list),
                Counts = new ManifestCounts { Rows = list.Count, Answered = list.Count },
            });
        }
        return directory;
    }
}
