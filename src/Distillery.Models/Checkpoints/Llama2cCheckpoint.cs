using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Models.Llama;

namespace Distillery.Models.Checkpoints;

/// <summary>
/// Reads llama2.c checkpoints: the legacy format (7 int32 header, fp32 weights; negative vocab = unshared classifier)
/// and export version 1 (magic "ak42", 256-byte header, norms first). Both rotate interleaved pairs; q/k rows are
/// permuted on load to the Hugging Face "halves" convention the model uses.
/// </summary>
public static class Llama2cCheckpoint
{
    /// <summary>The magic number that opens a version-1 file.</summary>
    public const uint Version1Magic = 0x616b3432;

    /// <summary>Loads either format into a new model.</summary>
    public static async Task<LlamaForCausalLM> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw InputException.InFile(path, "not found; give a llama2.c .bin checkpoint");
        var bytes = await File.ReadAllBytesAsync(path, cancellationToken);
        return Load(bytes, path);
    }

    /// <summary>Loads either format from its bytes.</summary>
    public static LlamaForCausalLM Load(byte[] bytes, string source)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        Runtime.TorchRuntime.EnsureLoaded();
        if (bytes.Length < 28) throw InputException.InFile(source, $"is {bytes.Length} bytes; too short for a llama2.c checkpoint");
        var isV1 = BitConverter.ToUInt32(bytes, 0) == Version1Magic;
        int[] header;
        bool shared;
        int offset;
        if (isV1)
        {
            if (bytes.Length < 256) throw InputException.InFile(source, "version-1 header is cut off; the file is truncated");
            var version = BitConverter.ToInt32(bytes, 4);
            if (version != 1) throw InputException.InFile(source, $"llama2.c export version {version} is not supported; use version 1 (fp32) or the legacy format");
            header = MemoryMarshal.Cast<byte, int>(bytes.AsSpan(8, 28)).ToArray();
            shared = bytes[36] != 0;
            offset = 256;
        }
        else
        {
            header = MemoryMarshal.Cast<byte, int>(bytes.AsSpan(0, 28)).ToArray();
            shared = header[5] > 0;
            header[5] = header[5] == int.MinValue ? 0 : Math.Abs(header[5]); // int.MinValue has no positive twin; 0 is reported as a bad vocabulary
            offset = 28;
        }
        var config = ConfigFromHeader(header, shared, source);
        var reader = new FloatReader(bytes, offset, source);
        var w = ReadWeights(reader, config, shared, isV1);
        if (reader.Remaining != 0)
            throw InputException.InFile(source, $"has {reader.Remaining} bytes after the weights its header describes; not a llama2.c checkpoint for this shape");
        var model = new LlamaForCausalLM(config);
        CheckpointTensors.Assign(model, w, source);
        return model;
    }

    /// <summary>HF rows of q or k from llama2.c's: within each head, pair (2j, 2j+1) moves to (j, j + hs/2).</summary>
    public static float[] InterleavedToHalves(float[] w, int heads, int headDim, int inFeatures)
    {
        ArgumentNullException.ThrowIfNull(w);
        var result = new float[w.Length];
        var half = headDim / 2;
        for (var h = 0; h < heads; h++)
            for (var j = 0; j < half; j++)
                for (var a = 0; a < 2; a++)
                {
                    var src = (h * headDim + 2 * j + a) * inFeatures;
                    var dst = (h * headDim + a * half + j) * inFeatures;
                    Array.Copy(w, src, result, dst, inFeatures);
                }
        return result;
    }

    private static LlamaConfig ConfigFromHeader(int[] h, bool shared, string source)
    {
        var (dim, hidden, layers, heads, kvHeads, vocab, seqLen) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6]);
        try
        {
            return new LlamaConfig
            {
                HiddenSize = dim,
                IntermediateSize = hidden,
                NumHiddenLayers = layers,
                NumAttentionHeads = heads,
                NumKeyValueHeads = kvHeads,
                VocabSize = vocab,
                MaxPositionEmbeddings = seqLen,
                RmsNormEps = 1e-5,
                RopeTheta = 10000.0,
                TieWordEmbeddings = shared,
                BosTokenId = 1,
                EosTokenIdRaw = 2,
            }.Validate($"{source} header");
        }
        catch (InputException e)
        {
            throw InputException.InFile(source, $"header does not describe a llama2.c model ({e.Message})");
        }
    }

    private static Dictionary<string, float[]> ReadWeights(FloatReader r, LlamaConfig c, bool shared, bool isV1)
    {
        // Sizes as longs: a corrupt header's products must reach the length check, not wrap round.
        long d = c.HiddenSize, ff = c.IntermediateSize, v = c.VocabSize, hs = c.HeadDim;
        long q = c.NumAttentionHeads * hs, kv = c.KeyValueHeads * hs;
        var n = c.NumHiddenLayers;
        var w = new Dictionary<string, float[]>();
        string L(int i, string name) => $"model.layers.{i}.{name}";
        void PerLayer(string name, long count)
        {
            for (var i = 0; i < n; i++) w[L(i, name)] = r.Read(count, L(i, name));
        }
        if (isV1)
        {
            PerLayer("input_layernorm.weight", d);
            PerLayer("post_attention_layernorm.weight", d);
            w["model.norm.weight"] = r.Read(d, "model.norm.weight");
            w["model.embed_tokens.weight"] = r.Read(v * d, "model.embed_tokens.weight");
            PerLayer("self_attn.q_proj.weight", q * d);
            PerLayer("self_attn.k_proj.weight", kv * d);
            PerLayer("self_attn.v_proj.weight", kv * d);
            PerLayer("self_attn.o_proj.weight", d * q);
            PerLayer("mlp.gate_proj.weight", ff * d);
            PerLayer("mlp.down_proj.weight", d * ff);
            PerLayer("mlp.up_proj.weight", ff * d);
        }
        else
        {
            w["model.embed_tokens.weight"] = r.Read(v * d, "model.embed_tokens.weight");
            PerLayer("input_layernorm.weight", d);
            PerLayer("self_attn.q_proj.weight", q * d);
            PerLayer("self_attn.k_proj.weight", kv * d);
            PerLayer("self_attn.v_proj.weight", kv * d);
            PerLayer("self_attn.o_proj.weight", d * q);
            PerLayer("post_attention_layernorm.weight", d);
            PerLayer("mlp.gate_proj.weight", ff * d);
            PerLayer("mlp.down_proj.weight", d * ff);
            PerLayer("mlp.up_proj.weight", ff * d);
            w["model.norm.weight"] = r.Read(d, "model.norm.weight");
            r.Read(c.MaxPositionEmbeddings * hs / 2, "freq_cis_real"); // precomputed RoPE tables, recomputed from theta instead
            r.Read(c.MaxPositionEmbeddings * hs / 2, "freq_cis_imag");
        }
        if (!shared) w["lm_head.weight"] = r.Read(v * d, "lm_head.weight");
        for (var i = 0; i < n; i++)
        {
            w[L(i, "self_attn.q_proj.weight")] = InterleavedToHalves(w[L(i, "self_attn.q_proj.weight")], c.NumAttentionHeads, c.HeadDim, c.HiddenSize);
            w[L(i, "self_attn.k_proj.weight")] = InterleavedToHalves(w[L(i, "self_attn.k_proj.weight")], c.KeyValueHeads, c.HeadDim, c.HiddenSize);
        }
        return w;
    }

    private sealed class FloatReader(byte[] bytes, int offset, string source)
    {
        private int position = offset;

        public long Remaining => bytes.Length - position;

        public float[] Read(long count, string what)
        {
            var size = count * sizeof(float);
            if (count > bytes.Length || position + size > bytes.Length)
                throw InputException.InFile(source, $"ends inside tensor '{what}' (needs {size} bytes at offset {position}, file has {bytes.Length}); the file is truncated or its header is wrong");
            var result = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(position, (int)size)).ToArray();
            position += (int)size;
            return result;
        }
    }
}
