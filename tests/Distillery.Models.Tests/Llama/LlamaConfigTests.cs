using System;
using System.Linq;
using Distillery.Core.Errors;
using Distillery.Models.Llama;

namespace Distillery.Models.Tests.Llama;

public sealed class LlamaConfigTests
{
    private const string SmolLikeJson = """
        {
          "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 576, "intermediate_size": 1536,
          "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3, "vocab_size": 49152,
          "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "max_position_embeddings": 2048, "tie_word_embeddings": true,
          "bos_token_id": 0, "eos_token_id": [0, 2], "hidden_act": "silu", "torch_dtype": "bfloat16", "attention_bias": false,
          "use_cache": true, "pretraining_tp": 1
        }
        """;

    [Fact]
    public void Reads_a_Hugging_Face_config_with_unknown_fields_and_an_eos_list()
    {
        var c = LlamaConfig.Parse(SmolLikeJson);
        Assert.Equal(576, c.HiddenSize);
        Assert.Equal(3, c.KeyValueHeads);
        Assert.Equal(64, c.HeadDim);
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal([0, 2], c.EosTokenIds);
        // SmolLM-135M has 134,515,008 parameters; the closed form must agree.
        Assert.Equal(134_515_008, c.ParameterCount);
    }

    [Fact]
    public void Round_trips_through_json()
    {
        var c = LlamaConfig.Parse(SmolLikeJson);
        var again = LlamaConfig.Parse(c.ToJson());
        Assert.Equal(c.ToJson(), again.ToJson());
        Assert.Equal(c.EosTokenIds, again.EosTokenIds);
    }

    [Theory]
    [InlineData("\"num_attention_heads\": 9", "\"num_attention_heads\": 7", "num_attention_heads")]
    [InlineData("\"num_key_value_heads\": 3", "\"num_key_value_heads\": 2", "num_key_value_heads")]
    [InlineData("\"hidden_size\": 576", "\"hidden_size\": 0", "hidden_size")]
    [InlineData("\"model_type\": \"llama\"", "\"model_type\": \"gpt2\"", "model_type")]
    [InlineData("[\"LlamaForCausalLM\"]", "[\"GPT2LMHeadModel\"]", "architectures")]
    [InlineData("\"hidden_act\": \"silu\"", "\"hidden_act\": \"gelu\"", "hidden_act")]
    [InlineData("\"rms_norm_eps\": 1e-05", "\"rms_norm_eps\": -1", "rms_norm_eps")]
    [InlineData("\"vocab_size\": 49152", "\"vocab_size\": \"many\"", "vocab_size")]
    public void A_bad_field_is_a_one_line_error_naming_it(string from, string to, string field)
    {
        var e = Assert.Throws<InputException>(() => LlamaConfig.Parse(SmolLikeJson.Replace(from, to, StringComparison.Ordinal), "m/config.json"));
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("m/config.json", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Parameter_count_of_a_random_model_equals_the_closed_form(bool tied)
    {
        foreach (var config in new[] { TinyConfigs.Gqa(tied), TinyConfigs.Qwen2() })
        {
            using var model = LlamaForCausalLM.Create(config, seed: 1);
            Assert.Equal(config.ParameterCount, model.ParameterCount);
        }
        // By hand for the GQA config: embed 300·32, per layer q 32·32 + k,v 2·32·16 + o 32·32 + mlp 3·32·48 + norms 2·32, final norm 32, head 300·32.
        var perLayer = 32 * 32 + 2 * 32 * 16 + 32 * 32 + 3 * 32 * 48 + 2 * 32;
        Assert.Equal(300 * 32 + 2 * perLayer + 32 + (tied ? 0 : 300 * 32), TinyConfigs.Gqa(tied).ParameterCount);
    }

    [Fact]
    public void Parameter_names_follow_Hugging_Face()
    {
        using var model = LlamaForCausalLM.Create(TinyConfigs.Qwen2(), seed: 1);
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains("model.embed_tokens.weight", names);
        Assert.Contains("model.layers.1.self_attn.q_proj.weight", names);
        Assert.Contains("model.layers.1.self_attn.k_proj.bias", names);
        Assert.Contains("model.layers.0.mlp.gate_proj.weight", names);
        Assert.Contains("model.layers.0.input_layernorm.weight", names);
        Assert.Contains("model.layers.0.post_attention_layernorm.weight", names);
        Assert.Contains("model.norm.weight", names);
        Assert.DoesNotContain("lm_head.weight", names); // tied
        using var untied = LlamaForCausalLM.Create(TinyConfigs.Gqa(), seed: 1);
        Assert.Contains("lm_head.weight", untied.named_parameters().Select(p => p.name));
    }
}
