using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Core.Policy;

namespace Distillery.Core.Pricing;

/// <summary>A price table file: <c>{"openai:gpt-4o-mini":{"input_per_million":0.15,"output_per_million":0.6}, "openai:*":{...}}</c>; keys may use <c>*</c>, the longest matching key wins. An entry may add <c>"batch":{...}</c>, its Batch API price (else half).</summary>
public sealed class PriceTable
{
    private readonly IReadOnlyDictionary<string, ModelPrice> prices;

    private PriceTable(IReadOnlyDictionary<string, ModelPrice> prices) => this.prices = prices;

    /// <summary>Reads a price table file.</summary>
    public static async Task<PriceTable> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw InputException.InFile(path, "no such price table file");
        return Parse(path, await File.ReadAllTextAsync(path, cancellationToken));
    }

    /// <summary>Parses a price table from JSON text.</summary>
    public static PriceTable Parse(string source, string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        Dictionary<string, ModelPrice>? prices;
        try
        {
            prices = JsonSerializer.Deserialize<Dictionary<string, ModelPrice>>(json);
        }
        catch (JsonException e)
        {
            throw InputException.InFile(source, $"not a price table ({ErrorText.FirstLine(e)}); expected {{\"provider:model\":{{\"input_per_million\":N,\"output_per_million\":N}}}}");
        }
        foreach (var (key, price) in prices ?? [])
            if (price is null || price.InputPerMillion < 0 || price.OutputPerMillion < 0 || price.Batch is { InputPerMillion: < 0 } or { OutputPerMillion: < 0 })
                throw InputException.InField($"{source} \"{key}\"", "needs non-negative input_per_million and output_per_million");
        return new PriceTable(prices ?? []);
    }

    /// <summary>The price of a teacher (<c>provider:model</c>), or null when the table has none.</summary>
    public ModelPrice? Find(string provider, string model)
    {
        var spec = $"{provider}:{model}";
        return prices.Where(p => Glob.IsMatch(p.Key, spec)).OrderByDescending(p => p.Key.Replace("*", "", StringComparison.Ordinal).Length).Select(p => p.Value).FirstOrDefault();
    }
}
