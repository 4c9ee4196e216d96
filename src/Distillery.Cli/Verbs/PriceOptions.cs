using System.CommandLine;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Core.Pricing;
using Distillery.Core.Specs;

namespace Distillery.Cli.Verbs;

/// <summary>What an API teacher's requests cost and may cost, the same on every verb that pays one: <c>--price-input</c> and <c>--price-output</c>, or a <c>--prices</c> table, and <c>--budget-usd</c>.</summary>
internal sealed class PriceOptions
{
    /// <summary><c>--price-input</c>.</summary>
    public Option<decimal?> Input { get; } = new("--price-input") { Description = "US dollars per million prompt tokens" };

    /// <summary><c>--price-output</c>.</summary>
    public Option<decimal?> Output { get; } = new("--price-output") { Description = "US dollars per million completion tokens" };

    /// <summary><c>--prices</c>.</summary>
    public Option<string?> Table { get; } = new("--prices") { Description = "Price table file: {\"provider:model\":{\"input_per_million\":N,\"output_per_million\":N}}" };

    /// <summary><c>--budget-usd</c>.</summary>
    public Option<decimal?> Budget { get; } = new("--budget-usd") { Description = "Most to spend on new requests in this run, in US dollars" };

    /// <summary>Adds the options to a command.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Budget, Input, Output, Table }) command.Options.Add(option);
    }

    /// <summary>The name of the first of these options given, or null where none was.</summary>
    public string? FirstGiven(ParseResult parse) =>
        parse.GetValue(Input) is not null ? Input.Name : parse.GetValue(Output) is not null ? Output.Name : parse.GetValue(Table) is not null ? Table.Name
        : parse.GetValue(Budget) is not null ? Budget.Name : null;

    /// <summary>The budget the command line gives, or null for none; it must not be negative, and an API teacher's needs a price.</summary>
    public decimal? ResolveBudget(ParseResult parse, ModelPrice price, bool apiTeacher)
    {
        if (parse.GetValue(Budget) is not { } budget) return null;
        if (budget < 0) throw InputException.InField("--budget-usd", "must not be negative");
        if (price == ModelPrice.Free && apiTeacher) throw InputException.InField("--budget-usd", "needs prices: give --price-input and --price-output, or --prices FILE");
        return budget;
    }

    /// <summary>The price the command line gives for <paramref name="teacher"/>: both per-million prices (they take precedence over a table), else its entry in the table, else free; a bad value is an input error naming its option.</summary>
    public async Task<ModelPrice> ResolveAsync(ParseResult parse, ModelSpec teacher, CancellationToken cancellationToken)
    {
        var input = parse.GetValue(Input);
        var output = parse.GetValue(Output);
        if (input is not null || output is not null)
        {
            if (input is null || output is null) throw InputException.InField(input is null ? "--price-input" : "--price-output", "give both --price-input and --price-output");
            if (input < 0) throw InputException.InField("--price-input", "prices must not be negative");
            if (output < 0) throw InputException.InField("--price-output", "prices must not be negative");
            return new ModelPrice(input.Value, output.Value);
        }
        if (parse.GetValue(Table) is not { } path) return ModelPrice.Free;
        var table = await PriceTable.LoadAsync(path, cancellationToken);
        return table.Find(teacher.Provider, teacher.Target)
            ?? throw InputException.InFile(path, $"has no price for {teacher}; add a \"{teacher}\" entry or give --price-input/--price-output");
    }
}
