using System.IO;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Distillery.Core.Provenance;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;
using Distillery.Training.Language;
using Distillery.Training.Language.Configuration;

namespace Distillery.Training.Tests.Language;

/// <summary>A new student built with a --tokenizer folder that has a tokenizer_config.json takes that template; its arguments reach the lineage.</summary>
[Trait("Speed", "Slow")]
[Collection(SerialTorchCollection.Name)]
public sealed class ChatTemplateTrainingTests(StoriesDatasetFixture fixture) : IClassFixture<StoriesDatasetFixture>
{
    private const string Template = "{% for m in messages %}{{ m.content }}{% endfor %}{% if add_generation_prompt and enable_thinking is false %} {% endif %}";

    [Fact]
    public async Task The_tokenizer_folders_template_and_the_arguments_go_into_the_student_and_its_lineage()
    {
        using var scratch = new ScratchFolder("template-training");
        var tokenizerFolder = scratch.File("tokenizer");
        Directory.CreateDirectory(tokenizerFolder);
        File.Copy(StoriesData.TokenizerPath, Path.Combine(tokenizerFolder, "tokenizer.bin"));
        await File.WriteAllTextAsync(Path.Combine(tokenizerFolder, ChatTemplate.TokenizerConfigFileName), new JsonObject { ["chat_template"] = Template }.ToJsonString());
        var config = new LmTrainingConfig
        {
            Data = fixture.Dataset,
            Out = scratch.File("out"),
            Mode = LmMode.Sft,
            Tokenizer = tokenizerFolder,
            ChatTemplateArgs = new() { ["enable_thinking"] = JsonValue.Create(false) },
            StudentPreset = "tiny",
            Steps = 2,
            BatchSize = 4,
            SeqLen = 48,
            EvalFraction = 0,
            CheckpointEvery = 0,
            Seed = 3,
        };

        var report = await LmTraining.RunAsync(config);

        Assert.Equal(Template, await File.ReadAllTextAsync(Path.Combine(report.ModelDirectory, ChatTemplate.JinjaFileName)));
        var lineage = (await LineageFile.ReadAsync(report.ModelDirectory))!;
        Assert.Equal(Path.Combine(tokenizerFolder, ChatTemplate.TokenizerConfigFileName), lineage.ChatTemplate!.Name);
        Assert.Equal(ChatTemplate.Parse(Template, "t").Sha256, lineage.ChatTemplate.Sha256);
        Assert.False(lineage.ChatTemplate.Arguments["enable_thinking"]!.GetValue<bool>());
        Assert.False(lineage.Config!["chat_template_args"]!["enable_thinking"]!.GetValue<bool>());
    }
}
