using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Specs;
using Distillery.Models.Loading;
using Distillery.Server;
using Distillery.Teachers.Labeling;
using Distillery.Teachers.Local;
using Distillery.Teachers.OpenAi;
using Distillery.TestSupport.Files;

namespace Distillery.Teachers.Tests.Labeling;

[Trait("Speed", "Slow")]
public sealed class DistillServeTests
{
    [Fact]
    public async Task Generate_against_distill_serve_gives_the_same_answers_and_logprobs_as_the_local_teacher()
    {
        var path = SharedTestData.Get("stories260K/stories260K.bin");
        using var bundle = await ModelLoader.LoadAsync("llama2c:" + path);
        await using var server = await OpenAiServer.StartAsync(new ModelBundleService(bundle, "stories260K"), new ServerOptions { Port = 0, ApiKey = "sk-serve" });
        using var dir = new ScratchFolder();
        var prompts = dir.File("p.txt");
        await File.WriteAllLinesAsync(prompts, ["Once upon a time", "Tom had a dog"]);
        var sampling = new SamplingParameters { Temperature = 0, MaxTokens = 24, TopLogprobs = 3 };
        var api = TeacherFactory.Wrap(new OpenAiTeacher("stories260K", new Uri(server.BaseAddress, "v1"), "sk-serve", TimeSpan.FromSeconds(30)), new TeacherSettings());

        var summary = await new LabelingRunner(api, new LabelingOptions { PromptsPath = prompts, OutputDirectory = dir.File("out"), Sampling = sampling }).RunAsync();

        Assert.True(summary.Succeeded);
        var rows = await DatasetReader.ReadAllRowsAsync(dir.File("out"));
        using var local = await LocalTeacher.LoadAsync(ModelSpec.Parse("llama2c:" + path, "--teacher"));
        foreach (var row in rows)
        {
            var expected = await local.CompleteAsync(new TeacherRequest(row.Messages.Take(row.Messages.Count - 1).ToList(), sampling));
            Assert.Equal(expected.Text, row.Messages[^1].Content);
            var tokens = row.Distillery!.Tokens;
            Assert.Equal(expected.Tokens.Select(t => t.Token), tokens.Select(t => t.Token));
            Assert.All(tokens.Zip(expected.Tokens), p =>
            {
                // The dataset stores logprobs as IEEE half floats: within half a unit in the last place (2^-11 relative).
                Assert.True(Math.Abs(p.First.Logprob - p.Second.Logprob) <= Math.Abs(p.Second.Logprob) / 2048 + 1e-6, $"{p.First.Logprob} vs {p.Second.Logprob}");
                Assert.Equal(p.Second.TopLogprobs.Select(a => a.Bytes.ToArray()), p.First.TopLogprobs.Select(a => a.Bytes.ToArray()));
            });
            Assert.Equal("stories260K", row.Distillery.Teacher.Model);
        }
    }
}
