using System;
using System.Globalization;
using System.Linq;
using Distillery.Core.Chat;
using Distillery.Models.Decoding;
using static TorchSharp.torch;

namespace Distillery.Models.Tests.Decoding;

[Collection(Stories260KCollection.Name)]
public sealed class GoldenOutputTests(Stories260K stories)
{
    private static readonly SamplingParameters Greedy = new() { Temperature = 0 };

    [Fact]
    public void Prompt_token_ids_match_llama2c()
    {
        var (ids, _) = ReadLogitsReference();
        Assert.Equal(ids, stories.Tokenizer.Encode("Once upon a time", addBos: true));
    }

    [Fact]
    public void Logits_at_positions_0_to_3_match_llama2c_within_1e4()
    {
        var (ids, expected) = ReadLogitsReference();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = stories.Model.forward(tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]));
        var actual = logits[0].data<float>().ToArray();
        var vocab = stories.Model.Config.VocabSize;
        for (var pos = 0; pos < expected.Length; pos++)
            for (var v = 0; v < vocab; v++)
                Assert.True(Math.Abs(actual[pos * vocab + v] - expected[pos][v]) <= 1e-4,
                    $"logit {v} at position {pos}: {actual[pos * vocab + v]} vs llama2.c {expected[pos][v]}");
    }

    [Fact]
    public void Greedy_n64_once_upon_a_time_is_byte_equal_to_llama2c()
    {
        var prompt = stories.Tokenizer.Encode("Once upon a time", addBos: true);
        // llama2.c's -n 64 counts positions: 64 forward passes print 64 - 5 + 1 = 60 new tokens after the 5-token prompt.
        var result = TextGenerator.Generate(stories.Model, stories.Tokenizer, prompt, Greedy with { MaxTokens = 64 - prompt.Count + 1 });
        var printed = stories.Tokenizer.Decode(prompt) + result.Text + "\n";
        Assert.Equal(Stories260K.Reference("greedy_n64_once_upon_a_time.txt"), printed);
        Assert.Equal(FinishReason.Length, result.FinishReason);
        Assert.Equal(60, result.CompletionTokens);
        var steps = Stories260K.Reference("logits_once_upon_a_time.txt").Split('\n')
            .Where(l => l.StartsWith("step pos=", StringComparison.Ordinal) && int.Parse(l.Split(' ')[1][4..], CultureInfo.InvariantCulture) >= 4)
            .Select(l => int.Parse(l.Split(' ')[3][5..], CultureInfo.InvariantCulture));
        Assert.Equal(steps, result.TokenIds);
    }

    [Fact]
    public void Greedy_256_steps_from_an_empty_prompt_is_byte_equal_to_llama2c()
    {
        var prompt = stories.Tokenizer.Encode("", addBos: true);
        Assert.Equal([1], prompt);
        var result = TextGenerator.Generate(stories.Model, stories.Tokenizer, prompt, Greedy with { MaxTokens = 256 });
        Assert.Equal(Stories260K.Reference("greedy_n256_empty_prompt.txt"), result.Text + "\n");
    }

    internal static (int[] Ids, float[][] Logits) ReadLogitsReference()
    {
        var lines = Stories260K.Reference("logits_once_upon_a_time.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var ids = lines[0]["prompt_tokens:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        var logits = lines.Where(l => l.StartsWith("logits pos=", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(s => float.Parse(s, CultureInfo.InvariantCulture)).ToArray())
            .ToArray();
        return (ids, logits);
    }
}
