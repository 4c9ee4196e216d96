using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Distillery.Core.Errors;
using Distillery.Models.Checkpoints;
using Distillery.Models.Llama;
using Distillery.Models.Tokenizers;
using static TorchSharp.torch;

namespace Distillery.Models.Gguf;

/// <summary>
/// Llama models in GGUF, as llama.cpp reads them: metadata under <c>llama.*</c>, tensors named <c>blk.N.attn_q.weight</c> …,
/// and q/k rows in the interleaved rotary layout llama.cpp's LLAMA architecture uses (Distillery's model uses halves).
/// </summary>
public static class LlamaGguf
{
    private const string SentencePieceSpace = "\u2581";

    /// <summary>The metadata key llama.cpp reads a model's Jinja chat template from.</summary>
    public const string ChatTemplateKey = "tokenizer.chat_template";

    /// <summary>Writes a model and its llama2.c/SentencePiece-style tokenizer as a GGUF v3 file (F32, or F16 matrices with F32 norms), with its chat template where given.</summary>
    public static void Export(LlamaForCausalLM model, ITextTokenizer tokenizer, string path, GgmlType dtype = GgmlType.F32, string name = "distillery-student", string? chatTemplate = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var c = model.Config;
        if (c.ModelType != "llama" || c.AttentionBias)
            throw InputException.InField("--format", $"GGUF export supports the llama architecture; this model is '{c.ModelType}'; export safetensors instead");
        var writer = new GgufWriter()
            .Add("general.architecture", "llama")
            .Add("general.name", name)
            .Add("general.file_type", dtype == GgmlType.F16 ? 1u : 0u)
            .Add("general.alignment", 32u)
            .Add("llama.context_length", (uint)c.MaxPositionEmbeddings)
            .Add("llama.embedding_length", (uint)c.HiddenSize)
            .Add("llama.block_count", (uint)c.NumHiddenLayers)
            .Add("llama.feed_forward_length", (uint)c.IntermediateSize)
            .Add("llama.rope.dimension_count", (uint)c.HeadDim)
            .Add("llama.attention.head_count", (uint)c.NumAttentionHeads)
            .Add("llama.attention.head_count_kv", (uint)c.KeyValueHeads)
            .Add("llama.attention.key_length", (uint)c.HeadDim)
            .Add("llama.attention.value_length", (uint)c.HeadDim)
            .Add("llama.attention.layer_norm_rms_epsilon", (float)c.RmsNormEps)
            .Add("llama.rope.freq_base", (float)c.RopeTheta)
            .Add("llama.vocab_size", (uint)c.VocabSize);
        AddTokenizer(writer, tokenizer, c.VocabSize);
        if (chatTemplate is not null) writer.Add(ChatTemplateKey, chatTemplate);
        using var noGrad = no_grad();
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (hfName, ggufName) in TensorNames(c))
        {
            var weight = parameters[hfName];
            var rows = hfName.EndsWith("q_proj.weight", StringComparison.Ordinal) ? c.NumAttentionHeads
                     : hfName.EndsWith("k_proj.weight", StringComparison.Ordinal) ? c.KeyValueHeads : 0;
            using var value = rows > 0 ? HalvesToInterleaved(weight, rows) : weight.detach().clone();
            writer.AddTensor(ggufName, value, value.dim() == 1 ? GgmlType.F32 : dtype);
        }
        writer.Write(path);
    }

    /// <summary>Loads a llama-architecture GGUF file (F32/F16/BF16) into a Distillery model and tokenizer with its own reader.</summary>
    public static (LlamaForCausalLM Model, ITextTokenizer Tokenizer) Load(string path)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var file = GgufFile.Open(path);
        var config = ConfigFrom(file);
        CheckpointTensors.CheckFits(config, file.Tensors.Values.Sum(t => t.ElementCount), path);
        var model = new LlamaForCausalLM(config);
        var byHf = TensorNames(config).ToDictionary(p => p.Hf, p => p.Gguf);
        CheckpointTensors.Assign(model, hfName =>
        {
            var ggufName = byHf[hfName];
            if (!file.Tensors.ContainsKey(ggufName))
                throw InputException.InFile(path, $"missing tensor '{ggufName}' (Distillery's '{hfName}')");
            var t = file.ReadTensor(ggufName);
            var rows = hfName.EndsWith("q_proj.weight", StringComparison.Ordinal) ? config.NumAttentionHeads
                     : hfName.EndsWith("k_proj.weight", StringComparison.Ordinal) ? config.KeyValueHeads : 0;
            if (rows == 0) return t;
            using (t) return InterleavedToHalves(t, rows);
        }, path);
        model.eval();
        return (model, TokenizerFrom(file));
    }

    /// <summary>The model blueprint stored in a llama GGUF file's metadata; errors name the missing key.</summary>
    public static LlamaConfig ConfigFrom(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var arch = file.Get<string>("general.architecture");
        if (arch != "llama")
            throw InputException.InFile(file.Path, $"architecture '{arch}' is not supported; Distillery reads llama-architecture GGUF files");
        var tokens = file.GetArray<string>("tokenizer.ggml.tokens");
        var hidden = file.Get<int>("llama.embedding_length");
        var heads = file.Get<int>("llama.attention.head_count");
        var defaultHeadDim = heads > 0 ? hidden / heads : 0; // no heads is reported by Validate, not divided by
        var headDim = file.GetOr("llama.attention.key_length", defaultHeadDim);
        return new LlamaConfig
        {
            HiddenSize = hidden,
            IntermediateSize = file.Get<int>("llama.feed_forward_length"),
            NumHiddenLayers = file.Get<int>("llama.block_count"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = file.GetOr("llama.attention.head_count_kv", heads),
            HeadDimOverride = headDim == defaultHeadDim ? null : headDim,
            VocabSize = file.GetOr("llama.vocab_size", tokens.Length),
            RmsNormEps = file.GetOr("llama.attention.layer_norm_rms_epsilon", 1e-5f),
            RopeTheta = file.GetOr("llama.rope.freq_base", 10000f),
            MaxPositionEmbeddings = file.GetOr("llama.context_length", 2048),
            TieWordEmbeddings = !file.Tensors.ContainsKey("output.weight"),
            BosTokenId = file.Metadata.ContainsKey("tokenizer.ggml.bos_token_id") ? file.Get<int>("tokenizer.ggml.bos_token_id") : null,
        }.Validate(file.Path);
    }

    /// <summary>Pairs of (Hugging Face name, GGUF name) for every tensor of the config's model, in llama.cpp's order.</summary>
    public static IEnumerable<(string Hf, string Gguf)> TensorNames(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        yield return ("model.embed_tokens.weight", "token_embd.weight");
        yield return ("model.norm.weight", "output_norm.weight");
        if (!config.TieWordEmbeddings) yield return ("lm_head.weight", "output.weight");
        for (var i = 0; i < config.NumHiddenLayers; i++)
        {
            var hf = $"model.layers.{i}.";
            var gg = $"blk.{i}.";
            yield return (hf + "input_layernorm.weight", gg + "attn_norm.weight");
            yield return (hf + "self_attn.q_proj.weight", gg + "attn_q.weight");
            yield return (hf + "self_attn.k_proj.weight", gg + "attn_k.weight");
            yield return (hf + "self_attn.v_proj.weight", gg + "attn_v.weight");
            yield return (hf + "self_attn.o_proj.weight", gg + "attn_output.weight");
            yield return (hf + "post_attention_layernorm.weight", gg + "ffn_norm.weight");
            yield return (hf + "mlp.gate_proj.weight", gg + "ffn_gate.weight");
            yield return (hf + "mlp.down_proj.weight", gg + "ffn_down.weight");
            yield return (hf + "mlp.up_proj.weight", gg + "ffn_up.weight");
        }
    }

    /// <summary>q/k rows from halves (j, j + hs/2) to interleaved pairs (2j, 2j + 1) within each head. (heads·hs, d)</summary>
    public static Tensor HalvesToInterleaved(Tensor weight, int heads)
    {
        ArgumentNullException.ThrowIfNull(weight);
        var (rows, cols) = (weight.shape[0], weight.shape[1]);
        var half = rows / heads / 2;
        return weight.detach().reshape(heads, 2, half, cols).transpose(1, 2).reshape(rows, cols).contiguous(); // (nh, hs/2, 2, d) → (nh·hs, d)
    }

    /// <summary>q/k rows from interleaved pairs (2j, 2j + 1) to halves (j, j + hs/2) within each head. (heads·hs, d)</summary>
    public static Tensor InterleavedToHalves(Tensor weight, int heads)
    {
        ArgumentNullException.ThrowIfNull(weight);
        var (rows, cols) = (weight.shape[0], weight.shape[1]);
        var half = rows / heads / 2;
        return weight.detach().reshape(heads, half, 2, cols).transpose(1, 2).reshape(rows, cols).contiguous(); // (nh, 2, hs/2, d) → (nh·hs, d)
    }

    private static void AddTokenizer(GgufWriter writer, ITextTokenizer tokenizer, int vocabSize)
    {
        if (tokenizer is not Llama2cTokenizer sp)
            throw InputException.InField("--format", $"GGUF export embeds SentencePiece-style (llama2.c) vocabularies; this model's tokenizer is {tokenizer.Name}; export safetensors instead");
        if (sp.VocabSize != vocabSize)
            throw InputException.InField("--format", $"the tokenizer has {sp.VocabSize} tokens but the model's vocabulary is {vocabSize}");
        var tokens = new string[vocabSize];
        var scores = new float[vocabSize];
        var types = new int[vocabSize];
        for (var id = 0; id < vocabSize; id++)
        {
            var piece = Encoding.UTF8.GetString(sp.Piece(id));
            (tokens[id], types[id]) = id switch
            {
                0 => ("<unk>", 2),                 // unknown
                1 => ("<s>", 3),                   // control
                2 => ("</s>", 3),
                >= 3 and < 259 => ($"<0x{id - 3:X2}>", 6), // byte fallback
                _ => (piece.Replace(" ", SentencePieceSpace, StringComparison.Ordinal), 1),
            };
            scores[id] = sp.Score(id);
        }
        writer.Add("tokenizer.ggml.model", "llama")
              .Add("tokenizer.ggml.tokens", tokens)
              .Add("tokenizer.ggml.scores", scores)
              .Add("tokenizer.ggml.token_type", types)
              .Add("tokenizer.ggml.unknown_token_id", 0u)
              .Add("tokenizer.ggml.bos_token_id", 1u)
              .Add("tokenizer.ggml.eos_token_id", 2u)
              .Add("tokenizer.ggml.add_bos_token", true)
              .Add("tokenizer.ggml.add_eos_token", false);
    }

    private static ITextTokenizer TokenizerFrom(GgufFile file)
    {
        var kind = file.Get<string>("tokenizer.ggml.model");
        if (kind != "llama")
            throw InputException.InFile(file.Path, $"tokenizer kind '{kind}' is not supported yet; Distillery reads SentencePiece-style ('llama') GGUF vocabularies");
        var tokens = file.GetArray<string>("tokenizer.ggml.tokens");
        var scores = file.GetArray<float>("tokenizer.ggml.scores");
        if (scores.Length != tokens.Length)
            throw InputException.InFile(file.Path, $"has {tokens.Length} tokens but {scores.Length} token scores; the vocabulary is corrupt");
        if (tokens.Length == 0) throw InputException.InFile(file.Path, "has an empty vocabulary (tokenizer.ggml.tokens)");
        // Rebuild the llama2.c tokenizer.bin layout: int32 max length, then per token float32 score, int32 length, bytes.
        using var bytes = new MemoryStream();
        using (var w = new BinaryWriter(bytes, Encoding.UTF8, leaveOpen: true))
        {
            var pieces = tokens.Select((t, id) => Encoding.UTF8.GetBytes(id switch
            {
                1 => "\n<s>\n",
                2 => "\n</s>\n",
                _ => t.Replace(SentencePieceSpace, " ", StringComparison.Ordinal),
            })).ToArray();
            w.Write(pieces.Max(p => p.Length));
            for (var id = 0; id < pieces.Length; id++)
            {
                w.Write(scores[id]);
                w.Write(pieces[id].Length);
                w.Write(pieces[id]);
            }
        }
        return Llama2cTokenizer.FromBytes(bytes.ToArray(), file.Path);
    }
}
