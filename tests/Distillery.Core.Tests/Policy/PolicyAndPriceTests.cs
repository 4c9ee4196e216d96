using System;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Policy;
using Distillery.Core.Pricing;

namespace Distillery.Core.Tests.Policy;

public sealed class PolicyAndPriceTests
{
    private const string PolicyJson = """
        {"default":"deny","rules":[
          {"provider":"openai","decision":"allow-with-notice","note":"API terms forbid training competing models","url":"https://openai.com/policies/terms-of-use"},
          {"name":"no-4o","provider":"openai","model":"gpt-4o*","decision":"deny"},
          {"provider":"openai","model":"gpt-4o-mini","decision":"allow"},
          {"provider":"gguf","decision":"allow"}]}
        """;

    [Theory]
    [InlineData("openai", "gpt-4o-mini", PolicyVerdict.Allow, "policy.json rules[2] (openai:gpt-4o-mini)")]
    [InlineData("openai", "gpt-4o-2024-08-06", PolicyVerdict.Deny, "policy.json rules[1] (no-4o)")]
    [InlineData("openai", "o3", PolicyVerdict.AllowWithNotice, "policy.json rules[0] (openai:*)")]
    [InlineData("gguf", "/models/x.gguf", PolicyVerdict.Allow, "policy.json rules[3] (gguf:*)")]
    [InlineData("checkpoint", "dir", PolicyVerdict.Deny, "policy.json default")]
    public void The_most_specific_rule_decides_and_is_named(string provider, string model, PolicyVerdict verdict, string rule)
    {
        var decision = TermsPolicy.FromJson("policy.json", PolicyJson).Evaluate(provider, model);
        Assert.Equal(verdict, decision.Verdict);
        Assert.Equal(rule, decision.Rule);
    }

    [Fact]
    public void Notes_and_urls_travel_with_the_decision_and_no_policy_allows_all()
    {
        var d = TermsPolicy.FromJson("policy.json", PolicyJson).Evaluate("openai", "o3");
        Assert.Equal("API terms forbid training competing models https://openai.com/policies/terms-of-use", d.Explanation);
        Assert.Equal("allow-with-notice", d.VerdictText);
        Assert.Equal(PolicyVerdict.Allow, TermsPolicy.AllowAll.Evaluate("openai", "anything").Verdict);
    }

    [Fact]
    public void A_bad_decision_names_the_rule()
    {
        var e = Assert.Throws<InputException>(() => TermsPolicy.FromJson("p.json", """{"rules":[{"provider":"x","decision":"maybe"}]}"""));
        Assert.Equal("p.json rules[0].decision: \"maybe\" is not a decision; use allow, deny or allow-with-notice", e.Message);
    }

    [Theory]
    [InlineData("gpt-4o*", "gpt-4o-mini", true)]
    [InlineData("gpt-4o*", "gpt-4", false)]
    [InlineData("*mini", "GPT-4O-MINI", true)]
    [InlineData("a*b*c", "axxbyyc", true)]
    [InlineData("a*b*c", "acb", false)]
    [InlineData("ab*ba", "aba", false)]
    public void Glob_matches_whole_names(string pattern, string text, bool match) => Assert.Equal(match, Glob.IsMatch(pattern, text));

    [Fact]
    public void Prices_take_the_most_specific_key_and_cost_is_per_million()
    {
        var table = PriceTable.Parse("prices.json", """{"openai:*":{"input_per_million":5,"output_per_million":15},"openai:gpt-4o-mini*":{"input_per_million":0.15,"output_per_million":0.6}}""");
        var mini = table.Find("openai", "gpt-4o-mini")!;
        Assert.Equal(0.15m, mini.InputPerMillion);
        Assert.Equal(5m, table.Find("openai", "o3")!.InputPerMillion);
        Assert.Null(table.Find("gguf", "x"));
        Assert.Equal((1000 * 0.15m + 500 * 0.6m) / 1_000_000m, mini.Cost(new TokenUsage(1000, 500)));
        Assert.Throws<InputException>(() => PriceTable.Parse("prices.json", """{"x:y":{"input_per_million":-1,"output_per_million":1}}"""));
    }

    [Fact]
    public void A_batch_price_is_the_listed_batch_price_else_half_the_price()
    {
        var table = PriceTable.Parse("prices.json", """
            {"openai:a":{"input_per_million":2,"output_per_million":8},
             "openai:b":{"input_per_million":2,"output_per_million":8,"batch":{"input_per_million":1.5,"output_per_million":3}}}
            """);
        Assert.Equal(new ModelPrice(1m, 4m), table.Find("openai", "a")!.ForBatch());
        Assert.Equal(new ModelPrice(1.5m, 3m), table.Find("openai", "b")!.ForBatch());
        Assert.Throws<InputException>(() => PriceTable.Parse("prices.json", """{"x:y":{"input_per_million":1,"output_per_million":1,"batch":{"input_per_million":-1,"output_per_million":1}}}"""));
    }

    [Fact]
    public void The_budget_refuses_a_reservation_that_would_pass_the_limit()
    {
        var budget = new Budget(1.0m);
        Assert.True(budget.TryReserve(0.6m));
        Assert.False(budget.TryReserve(0.5m));
        budget.Settle(0.6m, 0.2m);
        Assert.True(budget.TryReserve(0.5m));
        Assert.Equal(0.2m, budget.SpentUsd);
        Assert.True(new Budget(null).TryReserve(1e9m));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Budget(-1));
    }
}
