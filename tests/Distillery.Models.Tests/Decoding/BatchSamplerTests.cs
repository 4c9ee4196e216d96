using System;
using System.Collections.Generic;
using Distillery.Core.Chat;
using Distillery.Models.Decoding;
using Distillery.Models.Llama;

namespace Distillery.Models.Tests.Decoding;

[Collection(Stories260KCollection.Name)]
public sealed class BatchSamplerTests(Stories260K stories)
{
    private static readonly int[][] Prompts = [[1], [1, 403, 261, 306], [1, 70, 411, 261, 306, 322, 480]];

    [Fact]
    public void GreedyBatchedSamplingOfPromptsOfDifferentLengthsEqualsTheSingleStreamDecoderOnEachPrompt()
    {
        var stops = new HashSet<int>(stories.Tokenizer.StopIds);
        stops.UnionWith(stories.Model.Config.EosTokenIds);
        var batched = BatchSampler.Sample(stories.Model, Prompts, 24, 0.0, new Random(0), stops);
        for (var i = 0; i < Prompts.Length; i++)
        {
            var reference = TextGenerator.Generate(stories.Model, stories.Tokenizer, Prompts[i], new SamplingParameters { Temperature = 0, MaxTokens = 24 });
            var mine = batched[i].Length > 0 && stops.Contains(batched[i][^1]) ? batched[i][..^1] : batched[i]; // the decoder leaves the stop id out
            Assert.True(mine.Length > 3, $"row {i} sampled only {mine.Length} tokens");
            Assert.Equal(reference.TokenIds, mine);
        }
    }

    [Fact]
    public void TheFusedDecoderSamplesTheSameIdsAsTheForwardPassGreedilyAndAtTemperatureOneWithASeed()
    {
        var config = stories.Model.Config;
        IBatchDecoder Reference(int rows, int capacity) => new ModuleBatchDecoder(stories.Model, rows, capacity);
        Assert.Equal(
            BatchSampler.Sample(config, Reference, Prompts, 24, 0.0, new Random(0), stories.Tokenizer.StopIds),
            BatchSampler.Sample(stories.Model, Prompts, 24, 0.0, new Random(0), stories.Tokenizer.StopIds));
        for (var seed = 1; seed <= 3; seed++)
            Assert.Equal(
                BatchSampler.Sample(config, Reference, Prompts, 32, 1.0, new Random(seed), stories.Tokenizer.StopIds),
                BatchSampler.Sample(stories.Model, Prompts, 32, 1.0, new Random(seed), stories.Tokenizer.StopIds));
    }

    [Fact]
    public void ASeedGivesTheSameSamplesAndAnotherSeedOthers()
    {
        int[][] Draw(int seed) => BatchSampler.Sample(stories.Model, Prompts, 16, 1.0, new Random(seed), stories.Tokenizer.StopIds);
        var a = Draw(5);
        Assert.Equal(a, Draw(5));
        Assert.NotEqual(a, Draw(6));
        Assert.All(a, row => Assert.InRange(row.Length, 1, 16));
    }
}
