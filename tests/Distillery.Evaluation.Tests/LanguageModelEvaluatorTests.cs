using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Evaluation.Data;
using Distillery.Models.Loading;
using Distillery.TestSupport.Files;
using static TorchSharp.torch;

namespace Distillery.Evaluation.Tests;

public sealed class LanguageModelEvaluatorTests : IAsyncLifetime
{
    private ModelBundle model = null!;
    private readonly ScratchFolder scratch = new("eval-tests");

    public async Task InitializeAsync() =>
        model = await ModelLoader.LoadAsync("llama2c:" + SharedTestData.Get("stories260K/stories260K.bin"));

    public Task DisposeAsync()
    {
        model.Dispose();
        scratch.Dispose();
        return Task.CompletedTask;
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task Perplexity_agrees_with_a_plain_loop_over_full_forward_passes()
    {
        var path = SharedTestData.TryGet("text/tinystories_sample.txt")!;
        var data = await EvalDataLoader.LoadAsync(path, limit: 1);
        var text = Assert.IsType<TextExample>(Assert.Single(data)).Text;
        var score = LanguageModelEvaluator.Evaluate("stories", "teacher", model, null, data, new EvalOptions { LatencyTokens = 0 });

        // Independent reference: for every token, a fresh forward pass over its whole prefix.
        var ids = model.Tokenizer.Encode(text, addBos: true);
        Assert.True(ids.Count < model.Config.MaxPositionEmbeddings);
        double nll = 0;
        using (no_grad())
        {
            for (var t = 1; t < ids.Count; t++)
            {
                using var scope = NewDisposeScope();
                var prefix = tensor(ids.Take(t).Select(i => (long)i).ToArray(), [1, t]);
                var logp = model.Model.forward(prefix)[0, t - 1].log_softmax(0);
                nll -= logp[ids[t]].item<float>();
            }
        }
        var expected = Math.Exp(nll / (ids.Count - 1));
        Assert.Equal(expected, score.Perplexity!.Value, expected * 1e-4);
        Assert.InRange(score.Perplexity.Value, 1.0, 50.0); // a trained model on its own domain
    }

    [Fact]
    public async Task A_model_compared_with_an_identical_teacher_has_zero_kl_and_full_agreement()
    {
        using var twin = await ModelLoader.LoadAsync(model.Spec);
        var data = new EvalExample[]
        {
            new ChatExample([ChatMessage.User("Once upon a time, there was a cat.")], " The cat liked to play with a ball."),
            new TextExample("Lily went to the park with her mom."),
        };
        var score = LanguageModelEvaluator.Evaluate("twin", "student", twin, model, data);
        Assert.Equal(0, score.KlToTeacher!.Value, 5);
        Assert.Equal(1.0, score.Agreement!.Value);
        Assert.Equal(model.Model.ParameterCount, score.Parameters);
        Assert.Equal(new FileInfo(SharedTestData.TryGet("stories260K/stories260K.bin")!).Length, score.FileBytes);
        Assert.True(score.MsPerToken is > 0 and < 100);
    }

    [Fact]
    public void Chat_examples_score_only_the_answer()
    {
        var example = new ChatExample([ChatMessage.User("Tom had a dog.")], " The dog was big.");
        var (ids, from) = Assert.Single(LanguageModelEvaluator.Sequences(model, example));
        var promptIds = model.EncodePrompt("Tom had a dog.");
        Assert.Equal(promptIds, ids.Take(from));
        Assert.Equal(" The dog was big.", model.Tokenizer.Decode(ids.Skip(from).ToList(), ids[from - 1]));
    }

    [Fact]
    public async Task Bad_jsonl_line_is_reported_with_file_and_line()
    {
        var path = scratch.File("bad.jsonl");
        await File.WriteAllLinesAsync(path, ["{\"text\": \"fine\"}", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}"]);
        var e = await Assert.ThrowsAsync<InputException>(() => EvalDataLoader.LoadAsync(path));
        Assert.Equal($"{path}:2: 'messages' must end with the assistant's reference answer", e.Message);
    }
}
