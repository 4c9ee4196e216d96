using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Models.Runtime;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;
using Distillery.Training.Language.Data;

namespace Distillery.Training.Tests.Language.Data;

[Collection(SerialTorchCollection.Name)]
public sealed class TopKMatchingTests : IDisposable
{
    private readonly ScratchFolder scratch = new("topk-match");

    public TopKMatchingTests() => TorchRuntime.EnsureLoaded();

    private string root => scratch.Path;

    public void Dispose() => scratch.Dispose();

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task SharedTokenizerMatchesTheTeachersTokensByBytesAndADifferentOneIsRefusedInOneLine()
    {
        var dir = await StoriesData.WriteAsync(Path.Combine(root, "d"), rows: 12, maxTokens: 24, topLogprobs: 4);
        var rows = await DatasetReader.ReadAllRowsAsync(dir);
        var tok512 = await TokenizerLoader.LoadAsync(StoriesData.TokenizerPath);
        var set = LmExampleBuilder.Build(rows, tok512, ChatTemplate.Plain, new LmTokenization(64, WithTopK: true));
        Assert.Equal(rows.Count, set.Examples.Count);
        for (var r = 0; r < rows.Count; r++)
        {
            var e = set.Examples[r];
            var stored = rows[r].Distillery!.Tokens;
            // Matched by bytes alone, the ids are the teacher's own ids (which a local teacher also records).
            Assert.Equal(stored.Select(t => t.Id!.Value), e.Ids.Skip(e.PromptLength).Take(stored.Count));
            for (var i = 0; i < stored.Count; i++)
                Assert.Equal(stored[i].TopLogprobs.Select(a => a.Id!.Value), e.TopK![i]!.Ids);
        }

        var o200k = await TokenizerLoader.LoadAsync("tiktoken:o200k_base");
        var error = Assert.Throws<InputException>(() => LmExampleBuilder.Build(rows, o200k, ChatTemplate.Plain, new LmTokenization(64, WithTopK: true), "d/data.jsonl"));
        Assert.Single(error.Message.Split('\n'));
        Assert.Contains("share the teacher's tokenizer", error.Message);
        Assert.Contains("use --mode sft", error.Message);
        Assert.StartsWith("d/data.jsonl", error.Message);
    }
}
