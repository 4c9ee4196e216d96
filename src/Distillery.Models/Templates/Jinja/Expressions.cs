using System.Collections.Generic;

namespace Distillery.Models.Templates.Jinja;

/// <summary>An expression, with the template line it is on.</summary>
internal abstract record Expr(int Line);

/// <summary>A constant: string, number, bool or none.</summary>
internal sealed record LiteralExpr(object? Value, int Line) : Expr(Line);

/// <summary>A variable.</summary>
internal sealed record NameExpr(string Name, int Line) : Expr(Line);

/// <summary><c>[a, b]</c>, or a tuple <c>(a, b)</c> (the same value here).</summary>
internal sealed record ListExpr(IReadOnlyList<Expr> Items, int Line) : Expr(Line);

/// <summary><c>{'k': v}</c>.</summary>
internal sealed record DictExpr(IReadOnlyList<(Expr Key, Expr Value)> Items, int Line) : Expr(Line);

/// <summary><c>x.name</c>.</summary>
internal sealed record AttributeExpr(Expr Target, string Name, int Line) : Expr(Line);

/// <summary><c>x[i]</c>.</summary>
internal sealed record IndexExpr(Expr Target, Expr Index, int Line) : Expr(Line);

/// <summary><c>x[start:stop:step]</c>.</summary>
internal sealed record SliceExpr(Expr Target, Expr? Start, Expr? Stop, Expr? Step, int Line) : Expr(Line);

/// <summary>A call's arguments as written.</summary>
internal sealed record CallArguments(IReadOnlyList<Expr> Positional, IReadOnlyList<(string Name, Expr Value)> Keyword)
{
    /// <summary>No arguments.</summary>
    public static CallArguments None { get; } = new([], []);
}

/// <summary><c>f(args)</c>.</summary>
internal sealed record CallExpr(Expr Callee, CallArguments Arguments, int Line) : Expr(Line);

/// <summary><c>x | name(args)</c>.</summary>
internal sealed record FilterExpr(Expr Operand, string Name, CallArguments Arguments, int Line) : Expr(Line);

/// <summary><c>x is [not] name(args)</c>.</summary>
internal sealed record TestExpr(Expr Operand, string Name, bool Negated, CallArguments Arguments, int Line) : Expr(Line);

/// <summary><c>not x</c>, <c>-x</c>, <c>+x</c>.</summary>
internal sealed record UnaryExpr(string Operator, Expr Operand, int Line) : Expr(Line);

/// <summary><c>a op b</c>, including <c>and</c>, <c>or</c>, <c>in</c>, <c>not in</c> and <c>~</c>.</summary>
internal sealed record BinaryExpr(string Operator, Expr Left, Expr Right, int Line) : Expr(Line);

/// <summary><c>a if cond else b</c> (b undefined where left out).</summary>
internal sealed record ConditionalExpr(Expr Condition, Expr Then, Expr? Else, int Line) : Expr(Line);
