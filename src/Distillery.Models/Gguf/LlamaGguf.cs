using System;
using System.Collections.Generic;
using System.Linq;
using Distillery.Core.Errors;
using Distillery.Models.Checkpoints;
using Distillery.Models.Llama;
using Distillery.Models.Tokenizers;
using static TorchSharp.torch;

namespace Distillery.Models.Gguf;

/// <summary>
/// Llama-family models in GGUF, as llama.cpp reads them: architecture <c>llama</c> (Llama, SmolLM2, Mistral), <c>qwen2</c>
/// or <c>qwen3</c>, metadata under that name, tensors named <c>blk.N.attn_q.weight</c> …. llama.cpp's LLAMA architecture
/// rotates interleaved pairs, so q/k rows are permuted from Distillery's halves; Qwen's rotates halves, as Distillery does.
/// </summary>
public static class LlamaGguf
{
    /// <summary>The GGUF architectures Distillery reads and writes.</summary>
    public static IReadOnlyList<string> Architectures { get; } = ["llama", "qwen2", "qwen3"];

    /// <summary>The GGUF architecture of a model type: Mistral is written as llama, as llama.cpp's converter does.</summary>
    public static string ArchitectureOf(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.ModelType is "qwen2" or "qwen3" ? config.ModelType : "llama";
    }

    /// <summary>Writes a model and its tokenizer as a GGUF v3 file: F32, or F16 or Q8_0 matrices with F32 norms and biases.</summary>
    public static void Export(LlamaForCausalLM model, ITextTokenizer tokenizer, string path, GgmlType dtype = GgmlType.F32, string name = "distillery-student")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var c = model.Config;
        var arch = ArchitectureOf(c);
        if (arch == "qwen2" && c.NumAttentionHeads * c.HeadDim != c.HiddenSize)
            throw InputException.InField("--format", $"llama.cpp's qwen2 architecture needs num_attention_heads × head_dim = hidden_size; this model has {c.NumAttentionHeads} × {c.HeadDim} ≠ {c.HiddenSize}");
        var writer = new GgufWriter()
            .Add("general.architecture", arch)
            .Add("general.name", name)
            .Add("general.file_type", dtype switch { GgmlType.F16 => 1u, GgmlType.Q8_0 => 7u, _ => 0u })
            .Add("general.alignment", 32u)
            .Add($"{arch}.context_length", (uint)c.MaxPositionEmbeddings)
            .Add($"{arch}.embedding_length", (uint)c.HiddenSize)
            .Add($"{arch}.block_count", (uint)c.NumHiddenLayers)
            .Add($"{arch}.feed_forward_length", (uint)c.IntermediateSize)
            .Add($"{arch}.rope.dimension_count", (uint)c.HeadDim)
            .Add($"{arch}.attention.head_count", (uint)c.NumAttentionHeads)
            .Add($"{arch}.attention.head_count_kv", (uint)c.KeyValueHeads)
            .Add($"{arch}.attention.key_length", (uint)c.HeadDim)
            .Add($"{arch}.attention.value_length", (uint)c.HeadDim)
            .Add($"{arch}.attention.layer_norm_rms_epsilon", (float)c.RmsNormEps)
            .Add($"{arch}.rope.freq_base", (float)c.RopeTheta)
            .Add($"{arch}.vocab_size", (uint)c.VocabSize);
        if (Rotary.Number(c.RopeScaling?["original_max_position_embeddings"]) is { } original)
            writer.Add($"{arch}.rope.scaling.original_context_length", (uint)original);
        GgufVocabulary.Add(writer, tokenizer, c);
        if (RopeFrequencyFactors.Of(c) is { } factors)
        {
            using var f = tensor(factors);
            writer.AddTensor(RopeFrequencyFactors.TensorName, f, GgmlType.F32);
        }
        using var noGrad = no_grad();
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (hfName, ggufName) in TensorNames(c))
        {
            var weight = parameters[hfName];
            var heads = arch == "llama" ? PermutedHeads(c, hfName) : 0;
            using var value = heads > 0 ? Permute(weight, heads, HalvesToInterleaved) : weight.detach().clone();
            // Vectors stay F32, as llama.cpp's converter keeps them; rows that are no whole Q8_0 block fall back to F16, as it does.
            var type = value.dim() == 1 ? GgmlType.F32
                : dtype == GgmlType.Q8_0 && value.shape[^1] % Q8Zero.BlockSize != 0 ? GgmlType.F16
                : dtype;
            writer.AddTensor(ggufName, value, type);
        }
        writer.Write(path);
    }

    /// <summary>Loads a llama, qwen2 or qwen3 GGUF file (F32, F16, BF16 or Q8_0) into a Distillery model and tokenizer with its own reader.</summary>
    public static (LlamaForCausalLM Model, ITextTokenizer Tokenizer) Load(string path)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var file = GgufFile.Open(path);
        var config = ConfigFrom(file);
        var tokenizer = GgufVocabulary.Read(file);
        CheckpointTensors.CheckFits(config, file.Tensors.Values.Sum(t => t.ElementCount), path);
        var model = new LlamaForCausalLM(config);
        var arch = ArchitectureOf(config);
        var byHf = TensorNames(config).ToDictionary(p => p.Hf, p => p.Gguf);
        try
        {
            CheckpointTensors.Assign(model, hfName =>
            {
                var ggufName = byHf[hfName];
                if (!file.Tensors.ContainsKey(ggufName))
                    throw InputException.InFile(path, $"missing tensor '{ggufName}' (Distillery's '{hfName}')");
                var t = file.ReadTensor(ggufName);
                var heads = arch == "llama" ? PermutedHeads(config, hfName) : 0;
                if (heads == 0) return t;
                using (t) return Permute(t, heads, InterleavedToHalves);
            }, path);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return (model, tokenizer);
    }

    /// <summary>The model blueprint stored in a GGUF file's metadata; errors name the missing key.</summary>
    public static LlamaConfig ConfigFrom(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var arch = file.Get<string>("general.architecture");
        if (!Architectures.Contains(arch))
            throw InputException.InFile(file.Path, $"architecture '{arch}' is not supported; Distillery reads {string.Join(", ", Architectures)} GGUF files");
        var tokens = file.GetArray<string>("tokenizer.ggml.tokens");
        var hidden = file.Get<int>($"{arch}.embedding_length");
        var heads = file.Get<int>($"{arch}.attention.head_count");
        var defaultHeadDim = heads > 0 ? hidden / heads : 0; // no heads is reported by Validate, not divided by
        var headDim = file.GetOr($"{arch}.attention.key_length", defaultHeadDim);
        var theta = file.GetOr($"{arch}.rope.freq_base", 10000f);
        var hasBias = file.Tensors.ContainsKey("blk.0.attn_q.bias");
        var eos = file.Metadata.ContainsKey("tokenizer.ggml.eos_token_id") ? (int?)file.Get<int>("tokenizer.ggml.eos_token_id") : null;
        return new LlamaConfig
        {
            ModelType = arch,
            HiddenSize = hidden,
            IntermediateSize = file.Get<int>($"{arch}.feed_forward_length"),
            NumHiddenLayers = file.Get<int>($"{arch}.block_count"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = file.GetOr($"{arch}.attention.head_count_kv", heads),
            HeadDimOverride = headDim == defaultHeadDim ? null : headDim,
            VocabSize = file.GetOr($"{arch}.vocab_size", tokens.Length),
            RmsNormEps = file.GetOr($"{arch}.attention.layer_norm_rms_epsilon", 1e-5f),
            RopeTheta = theta,
            RopeScaling = RopeScalingFrom(file, arch, headDim, theta),
            MaxPositionEmbeddings = file.GetOr($"{arch}.context_length", 2048),
            TieWordEmbeddings = !file.Tensors.ContainsKey("output.weight"),
            // Only where the file differs from the model type's default, so config.json reads as the family's own.
            AttentionBiasOverride = hasBias == (arch == "qwen2") ? null : hasBias,
            BosTokenId = file.Metadata.ContainsKey("tokenizer.ggml.bos_token_id") ? file.Get<int>("tokenizer.ggml.bos_token_id") : null,
            EosTokenIdRaw = eos is { } e ? System.Text.Json.Nodes.JsonValue.Create(e) : null,
        }.Validate(file.Path);
    }

    private static System.Text.Json.Nodes.JsonObject? RopeScalingFrom(GgufFile file, string arch, int headDim, double theta)
    {
        if (!file.Tensors.ContainsKey(RopeFrequencyFactors.TensorName)) return null;
        using var factors = file.ReadTensor(RopeFrequencyFactors.TensorName);
        return RopeFrequencyFactors.ToLlama3Scaling(factors.data<float>().ToArray(), headDim, theta, file.GetOr($"{arch}.rope.scaling.original_context_length", 8192), file.Path);
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
            if (config.AttentionBias)
            {
                yield return (hf + "self_attn.q_proj.bias", gg + "attn_q.bias");
                yield return (hf + "self_attn.k_proj.bias", gg + "attn_k.bias");
                yield return (hf + "self_attn.v_proj.bias", gg + "attn_v.bias");
            }
            if (config.QkNorm)
            {
                yield return (hf + "self_attn.q_norm.weight", gg + "attn_q_norm.weight");
                yield return (hf + "self_attn.k_norm.weight", gg + "attn_k_norm.weight");
            }
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

    /// <summary>The head count whose rows a tensor's rotary layout permutes (q and k weights and biases), or 0.</summary>
    private static int PermutedHeads(LlamaConfig config, string hfName) =>
        hfName.Contains(".q_proj.", StringComparison.Ordinal) ? config.NumAttentionHeads
        : hfName.Contains(".k_proj.", StringComparison.Ordinal) ? config.KeyValueHeads : 0;

    /// <summary>Applies a row permutation to a matrix (heads·hs, d) or a bias (heads·hs).</summary>
    private static Tensor Permute(Tensor t, int heads, Func<Tensor, int, Tensor> rows)
    {
        if (t.dim() == 2) return rows(t, heads);
        using var column = t.detach().unsqueeze(1);
        using var permuted = rows(column, heads);
        return permuted.squeeze(1).contiguous();
    }
}
