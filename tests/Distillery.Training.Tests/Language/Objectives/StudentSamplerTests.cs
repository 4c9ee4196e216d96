using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Models.Loading;
using Distillery.Training.Language.Objectives;

namespace Distillery.Training.Tests.Language.Objectives;

[Collection(SerialTorchCollection.Name)]
public sealed class StudentSamplerTests
{
    private static readonly int[][] Prompts = [[1], [1, 403, 261, 306], [1, 70, 411, 261, 306, 322, 480]];

    [Fact]
    public async Task GreedyBatchedSamplingOfPromptsOfDifferentLengthsEqualsTheSingleStreamDecoderOnEachPrompt()
    {
        using var model = await ModelLoader.LoadAsync(StoriesData.TeacherSpec);
        var stops = new HashSet<int>(model.Tokenizer.StopIds);
        stops.UnionWith(model.Config.EosTokenIds);
        var batched = StudentSampler.SampleBatch(model.Model, Prompts, 24, 0.0, new Random(0), stops);
        for (var i = 0; i < Prompts.Length; i++)
        {
            var reference = model.Generate(Prompts[i], new SamplingParameters { Temperature = 0, MaxTokens = 24 });
            var mine = batched[i].Length > 0 && stops.Contains(batched[i][^1]) ? batched[i][..^1] : batched[i]; // the decoder leaves the stop id out
            Assert.True(mine.Length > 3, $"row {i} sampled only {mine.Length} tokens");
            Assert.Equal(reference.TokenIds, mine);
        }
    }

    [Fact]
    public async Task ASeedGivesTheSameSamplesAndAnotherSeedOthers()
    {
        using var model = await ModelLoader.LoadAsync(StoriesData.TeacherSpec);
        int[][] Draw(int seed) => StudentSampler.SampleBatch(model.Model, Prompts, 16, 1.0, new Random(seed), model.Tokenizer.StopIds);
        var a = Draw(5);
        Assert.Equal(a, Draw(5));
        Assert.NotEqual(a, Draw(6));
        Assert.All(a, row => Assert.InRange(row.Length, 1, 16));
    }
}
