using System;
using System.Linq;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Models.Runtime;
using Distillery.Models.Tokenizers;
using Distillery.Training.Language.Data;

namespace Distillery.Training.Tests.Language.Data;

public sealed class LmBatchTests
{
    public LmBatchTests() => TorchRuntime.EnsureLoaded();

    private static long[] Flat(TorchSharp.torch.Tensor t) => t.to_type(TorchSharp.torch.ScalarType.Int64).data<long>().ToArray();

    [Fact]
    public void CollateShiftsLabelsMasksPromptsAndPadsOnTheRight()
    {
        var examples = new[]
        {
            new LmExample([1, 5, 6, 7, 8], PromptLength: 2, TopK: null, Teacher: "t", GroupId: "a"),
            new LmExample([1, 9, 10], PromptLength: 1, TopK: null, Teacher: "t", GroupId: "b"),
        };
        var batch = LmBatch.Collate(examples);
        Assert.Equal(new long[] { 2, 4 }, batch.Inputs.shape);
        Assert.Equal(new long[] { 1, 5, 6, 7, 1, 9, 0, 0 }, Flat(batch.Inputs));
        Assert.Equal(new long[] { 5, 6, 7, 8, 9, 10, 0, 0 }, Flat(batch.Targets));
        // Row 0: target 5 is the last prompt token (masked); 6, 7, 8 are completion. Row 1: 9 and 10 are completion; padding masked.
        Assert.Equal(new long[] { 0, 1, 1, 1, 1, 1, 0, 0 }, Flat(batch.LossMask));
        Assert.Equal(5, batch.Count);
        Assert.Null(batch.TopKIds);
    }

    [Fact]
    public void CollatePutsTopKAlternativesAtTheirTargetPositions()
    {
        var topK = new TopKAlternatives?[] { new([6, 3], [-0.1f, -2.5f]), null, new([8], [-0.01f]) };
        var batch = LmBatch.Collate([new LmExample([1, 5, 6, 7, 8], 2, topK, "t", "a")]);
        Assert.Equal(new long[] { 1, 4, 2 }, batch.TopKIds!.shape);
        Assert.Equal(new long[] { 0, 1, 0, 1 }, Flat(batch.TopKMask!));
        var ids = Flat(batch.TopKIds);
        var logprobs = batch.TopKLogprobs!.data<float>().ToArray();
        Assert.Equal(6, ids[1 * 2 + 0]);
        Assert.Equal(3, ids[1 * 2 + 1]);
        Assert.Equal(-2.5f, logprobs[1 * 2 + 1]);
        Assert.Equal(8, ids[3 * 2]);
        Assert.True(float.IsNegativeInfinity(logprobs[3 * 2 + 1])); // padded alternative
        Assert.True(float.IsNegativeInfinity(logprobs[0])); // prompt position has none
    }

    [Fact]
    public void BuilderRendersThePromptWithTheStudentsTemplateAndMasksIt()
    {
        var tokenizer = Llama2cTokenizer.FromBytes(System.IO.File.ReadAllBytes(StoriesData.TokenizerPath));
        var messages = new[] { ChatMessage.System("Be kind."), ChatMessage.User("Tell a story."), ChatMessage.Assistant("Once upon a time there was a cat.") };
        var rows = new[] { new DatasetRow(messages, null) };
        var set = LmExampleBuilder.Build(rows, tokenizer, ChatTemplate.ChatML, new LmTokenization(256));
        var e = Assert.Single(set.Examples);
        var promptIds = tokenizer.Encode(ChatTemplate.ChatML.Apply(messages[..2], addGenerationPrompt: true), addBos: true);
        Assert.Equal(promptIds, e.Ids[..e.PromptLength]);
        Assert.Equal(2, e.Ids[^1]); // EOS appended: a row without provenance counts as a finished answer
        Assert.EndsWith("Once upon a time there was a cat.", tokenizer.Decode(e.Ids[..^1]));
        var batch = LmBatch.Collate(set.Examples);
        Assert.Equal(e.CompletionLength, batch.Count);
        // The first scored target is the first completion token, predicted from the last prompt position.
        var mask = Flat(batch.LossMask);
        Assert.Equal(e.PromptLength - 1, Array.IndexOf(mask, 1L));

        var truncated = LmExampleBuilder.Build(rows, tokenizer, ChatTemplate.ChatML, new LmTokenization(e.PromptLength + 3)).Examples.Single();
        Assert.Equal(3, truncated.CompletionLength);
        Assert.Equal(1, LmExampleBuilder.Build(rows, tokenizer, ChatTemplate.ChatML, new LmTokenization(e.PromptLength)).Skipped);
    }

    [Fact]
    public void RowsMustEndWithTheAssistantsAnswer()
    {
        var tokenizer = Llama2cTokenizer.FromBytes(System.IO.File.ReadAllBytes(StoriesData.TokenizerPath));
        var rows = new[] { new DatasetRow([ChatMessage.User("a")], null), };
        var e = Assert.Throws<Distillery.Core.Errors.InputException>(() => LmExampleBuilder.Build(rows, tokenizer, ChatTemplate.Plain, new LmTokenization(64), "d/data.jsonl"));
        Assert.StartsWith("d/data.jsonl:1:", e.Message);
    }

    [Fact]
    public void SplitIsDeterministicAndKeepsAPromptsRowsTogether()
    {
        var examples = Enumerable.Range(0, 200).Select(i => new LmExample([1, 2, 3], 1, null, "t", $"p{i / 2}")).ToList();
        var (train, eval) = LmSplit.Split(examples, 0.2, seed: 3);
        var (train2, eval2) = LmSplit.Split(examples, 0.2, seed: 3);
        Assert.Equal(eval.Select(e => e.GroupId), eval2.Select(e => e.GroupId));
        Assert.Equal(200, train.Count + eval.Count);
        Assert.InRange(eval.Count, 20, 60);
        Assert.Empty(train.Select(e => e.GroupId).Intersect(eval.Select(e => e.GroupId)));
        Assert.Equal(train2.Count, train.Count);
    }

    [Fact]
    public void SourceRebuildsAnyBatchExactlyAndReshufflesPerEpoch()
    {
        var examples = Enumerable.Range(0, 10).Select(i => new LmExample([1, i + 3, 2], 1, null, "t", $"p{i}")).ToList();
        var a = new LmBatchSource(examples, 3, seed: 5);
        var b = new LmBatchSource(examples, 3, seed: 5);
        Assert.Equal(4, a.BatchesPerEpoch);
        Assert.Equal(Flat(a.GetBatch(2, 1).Inputs), Flat(b.GetBatch(2, 1).Inputs));
        var epoch0 = Enumerable.Range(0, 4).SelectMany(i => a.ExamplesAt(0, i)).Select(e => e.Ids[1]).ToList();
        var epoch1 = Enumerable.Range(0, 4).SelectMany(i => a.ExamplesAt(1, i)).Select(e => e.Ids[1]).ToList();
        Assert.Equal(Enumerable.Range(3, 10), epoch0.Order());
        Assert.NotEqual(epoch0, epoch1);
    }
}
