using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Evaluation.Data;
using Distillery.Evaluation.Metrics;
using Distillery.Models.Llama;
using Distillery.Models.Loading;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;
using static TorchSharp.torch;

namespace Distillery.Evaluation.Tests;

/// <summary>Bits per byte and top-1 agreement on one-to-one chunks: the figures that compare models of different tokenizers.</summary>
public sealed class CrossTokenizerEvaluationTests : IAsyncLifetime
{
    private ModelBundle model = null!;

    public async Task InitializeAsync() =>
        model = await ModelLoader.LoadAsync("llama2c:" + (SharedTestData.TryGet("stories260K/stories260K.bin") ?? throw new FileNotFoundException("shared stories260K missing")));

    public Task DisposeAsync()
    {
        model.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public void Bits_per_byte_is_the_answers_negative_log_likelihood_over_ln2_and_its_utf8_bytes()
    {
        const string reference = " The cat liked to play with a ball.";
        var data = new EvalExample[] { new ChatExample([ChatMessage.User("Once upon a time, there was a cat.")], reference) };
        var score = LanguageModelEvaluator.Evaluate("stories", "teacher", model, null, data, new EvalOptions { LatencyTokens = 0 });

        // By hand: the summed −log p of the answer's tokens after the prompt, one forward pass, over ln 2 · its UTF-8 bytes.
        var prompt = model.EncodePrompt(model.ChatTemplate.Apply([ChatMessage.User("Once upon a time, there was a cat.")]));
        var ids = model.EncodePrompt(model.ChatTemplate.Apply([ChatMessage.User("Once upon a time, there was a cat.")]) + reference);
        Assert.Equal(prompt, ids.Take(prompt.Count)); // the answer starts on a token boundary here
        double nll = 0;
        using (no_grad())
        {
            var logp = model.Model.forward(tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Count]))[0].log_softmax(-1);
            for (var t = prompt.Count; t < ids.Count; t++) nll -= logp[t - 1, ids[t]].item<float>();
        }
        var expected = nll / Math.Log(2) / Encoding.UTF8.GetByteCount(reference);
        Assert.Equal(expected, score.BitsPerByte!.Value, 1e-4);
        // The same cross-entropy per token, rescaled: nats/token × tokens / bytes / ln 2.
        Assert.Equal(score.CrossEntropy!.Value * (ids.Count - prompt.Count) / Encoding.UTF8.GetByteCount(reference) / Math.Log(2), score.BitsPerByte.Value, 1e-4);
    }

    [Fact]
    public void One_to_one_chunks_are_the_tokens_of_both_encodings_that_cover_the_same_bytes()
    {
        // "Once upon": teacher "On|ce| upon" against student "Once| upon" share only " upon"; against "Once| up|on", nothing.
        var teacher = TokenOffsets.FromLengths([2, 2, 5], 9);
        var student = TokenOffsets.FromLengths([4, 5], 9);
        Assert.Equal([(2, 1)], ChunkAgreement.OneToOne(teacher, student));
        var split = TokenOffsets.FromLengths([4, 3, 2], 9);
        Assert.Empty(ChunkAgreement.OneToOne(teacher, split));
        // Zero-byte tokens (BOS, a dummy prefix) are skipped on either side.
        Assert.Equal([(1, 1), (2, 2)], ChunkAgreement.OneToOne(TokenOffsets.FromLengths([0, 4, 5], 9), TokenOffsets.FromLengths([0, 4, 5], 9)));
    }

    [Fact]
    public async Task Identical_tokenizers_agree_on_every_chunk_and_a_different_tokenizer_gets_chunk_agreement_not_kl()
    {
        var chat = new ChatExample([ChatMessage.User("Lily went to the park.")], " She saw a big dog and they played.");
        using var twin = await ModelLoader.LoadAsync(model.Spec);
        var (agreed, counted) = LanguageModelEvaluator.AgreementOnOneToOneChunks(model, twin, chat);
        // Every token that covers bytes is its own one-to-one chunk (a dummy-prefix token covers none).
        var offsets = TokenOffsets.Map(model.Tokenizer, chat.Reference, model.Tokenizer.Encode(chat.Reference));
        Assert.Equal(Enumerable.Range(0, offsets.Count).Count(i => offsets.End(i) > offsets.Start(i)), counted);
        Assert.True(counted >= 8);
        Assert.Equal(counted, agreed);

        var cl100k = await TokenizerLoader.LoadAsync("tiktoken:cl100k_base");
        var config = LlamaConfig.Parse($"{{\"vocab_size\":{cl100k.VocabSize},\"hidden_size\":8,\"intermediate_size\":16,\"num_hidden_layers\":1,\"num_attention_heads\":2,\"max_position_embeddings\":64,\"tie_word_embeddings\":true}}");
        using var other = ModelBundle.CreateRandom(config, 3, cl100k, ChatTemplate.Plain);
        var score = LanguageModelEvaluator.Evaluate("cl100k", "student", other, model, [chat], new EvalOptions { LatencyTokens = 0 });
        Assert.Null(score.KlToTeacher);
        Assert.Null(score.Agreement);
        Assert.InRange(score.ChunkAgreement!.Value, 0.0, 1.0);
        Assert.InRange(score.BitsPerByte!.Value, 1.0, 40.0); // a random model over 100k tokens: about log2(100k) bits per token
    }
}
