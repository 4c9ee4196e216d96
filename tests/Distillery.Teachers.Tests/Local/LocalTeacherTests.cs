using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Specs;
using Distillery.Models.Tokenizers;
using Distillery.Teachers.Labeling;
using Distillery.Teachers.Ledger;
using Distillery.Teachers.Local;
using Distillery.TestSupport.Files;

namespace Distillery.Teachers.Tests.Local;

public sealed class LocalTeacherTests
{
    private static string Shared(string relative) =>
        SharedTestData.Get(relative);

    [Fact]
    public async Task A_chosen_chat_template_or_variable_changes_the_ledger_identity_and_the_default_keeps_it()
    {
        var spec = ModelSpec.Parse("llama2c:" + Shared("stories260K/stories260K.bin"), "--teacher");
        using var own = await LocalTeacher.LoadAsync(spec);
        using var chatml = await LocalTeacher.LoadAsync(spec, await ChatTemplateChoice.ResolveAsync("chatml", null));
        using var terse = await LocalTeacher.LoadAsync(spec, await ChatTemplateChoice.ResolveAsync("chatml", ["terse=true"]));
        using var chatmlAgain = await LocalTeacher.LoadAsync(spec, await ChatTemplateChoice.ResolveAsync("chatml", null));

        // The model's own template keeps the endpoint ledgers already hold (the file's path).
        Assert.Equal(Path.GetFullPath(Shared("stories260K/stories260K.bin")), own.Identity.Endpoint);
        // A chosen template or variable is part of the teacher: cached answers under another template never answer it.
        Assert.StartsWith(own.Identity.Endpoint + "#chat-template=", chatml.Identity.Endpoint, StringComparison.Ordinal);
        Assert.NotEqual(chatml.Identity.Endpoint, terse.Identity.Endpoint);
        Assert.Equal(chatml.Identity.Endpoint, chatmlAgain.Identity.Endpoint);
        var messages = new[] { ChatMessage.User("Once upon a time") };
        var sampling = new SamplingParameters { Temperature = 0, MaxTokens = 8 };
        Assert.NotEqual(LedgerKey.For(own.Identity, messages, sampling, 0).Hash, LedgerKey.For(chatml.Identity, messages, sampling, 0).Hash);
    }

    [Fact]
    public async Task A_llama2c_teacher_answers_greedily_as_llama2c_does_with_top_k_per_token()
    {
        using var teacher = await LocalTeacher.LoadAsync(ModelSpec.Parse("llama2c:" + Shared("stories260K/stories260K.bin"), "--teacher"));
        var request = new TeacherRequest([ChatMessage.User("Once upon a time")], new SamplingParameters { Temperature = 0, MaxTokens = 60, TopLogprobs = 5 });

        var completion = await teacher.CompleteAsync(request);

        // llama2.c's run prints the prompt, the 60 greedy tokens, then a newline.
        var reference = await File.ReadAllTextAsync(Shared("reference/stories260K/greedy_n64_once_upon_a_time.txt"));
        Assert.Equal(reference, "Once upon a time" + completion.Text + "\n");
        Assert.Equal(new TokenUsage(5, 60), completion.Usage);
        Assert.Equal("length", completion.FinishReason);
        Assert.Equal(("llama2c", "stories260K.bin"), (teacher.Identity.Provider, teacher.Identity.Model));
        Assert.Equal(60, completion.Tokens.Count);
        Assert.All(completion.Tokens, t =>
        {
            Assert.Equal(5, t.TopLogprobs.Count);
            // Greedy: the chosen token is the most likely one.
            Assert.Equal(t.Id, t.TopLogprobs[0].Id);
            Assert.True(t.Logprob <= 0);
            Assert.True(t.TopLogprobs.Zip(t.TopLogprobs.Skip(1)).All(p => p.First.Logprob >= p.Second.Logprob));
        });
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task A_gguf_teacher_of_the_same_model_answers_as_the_llama2c_one()
    {
        var request = new TeacherRequest([ChatMessage.User("The little dog")], new SamplingParameters { Temperature = 0, MaxTokens = 20, TopLogprobs = 2 });
        using var gguf = await LocalTeacher.LoadAsync(ModelSpec.Parse("gguf:" + Shared("stories260K/stories260K-f32.gguf"), "--teacher"));
        using var llama2c = await LocalTeacher.LoadAsync(ModelSpec.Parse("llama2c:" + Shared("stories260K/stories260K.bin"), "--teacher"));

        var a = await gguf.CompleteAsync(request);
        var b = await llama2c.CompleteAsync(request);

        Assert.Equal("gguf", gguf.Identity.Provider);
        Assert.Equal(b.Text, a.Text);
        Assert.All(a.Tokens.Zip(b.Tokens), p => Assert.Equal(p.Second.Logprob, p.First.Logprob, 4));
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task Generate_builds_a_dataset_from_a_local_teacher_through_the_ledger()
    {
        using var dir = new ScratchFolder();
        var prompts = dir.File("p.txt");
        await File.WriteAllLinesAsync(prompts, ["Once upon a time", "The cat"]);
        var teacher = await TeacherFactory.CreateAsync("llama2c:" + Shared("stories260K/stories260K.bin"), new TeacherSettings());
        var options = new LabelingOptions { PromptsPath = prompts, OutputDirectory = dir.File("out"), Sampling = new SamplingParameters { Temperature = 0, MaxTokens = 20, TopLogprobs = 3 } };

        var summary = await new LabelingRunner(teacher, options).RunAsync();
        var again = await new LabelingRunner(teacher, options).RunAsync();

        Assert.Equal(2, summary.Answered);
        Assert.Equal(2, again.AlreadyPresent);
        var rows = await DatasetReader.ReadAllRowsAsync(options.OutputDirectory);
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal(20, r.Distillery!.Tokens.Count));
        Assert.Equal("llama2c", rows[0].Distillery!.Teacher.Provider);
        Assert.StartsWith(", there was a little girl", rows[0].Messages[^1].Content, StringComparison.Ordinal);
    }
}
