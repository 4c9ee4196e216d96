using System.Collections.Generic;

namespace Distillery.Models.Templates.Jinja;

/// <summary>A statement (a piece of a template), with the template line it starts on.</summary>
internal abstract record Stmt(int Line);

/// <summary>Literal template text.</summary>
internal sealed record TextStmt(string Text, int Line) : Stmt(Line);

/// <summary><c>{{ expr }}</c>.</summary>
internal sealed record OutputStmt(Expr Value, int Line) : Stmt(Line);

/// <summary><c>{% if %}…{% elif %}…{% else %}…{% endif %}</c>.</summary>
internal sealed record IfStmt(IReadOnlyList<(Expr Condition, IReadOnlyList<Stmt> Body)> Branches, IReadOnlyList<Stmt> Else, int Line) : Stmt(Line);

/// <summary><c>{% for a[, b] in items [if cond] %}…{% else %}…{% endfor %}</c>.</summary>
internal sealed record ForStmt(IReadOnlyList<string> Targets, Expr Items, Expr? Filter, IReadOnlyList<Stmt> Body, IReadOnlyList<Stmt> Else, int Line) : Stmt(Line);

/// <summary><c>{% set target = value %}</c> or the block form <c>{% set target %}…{% endset %}</c>.</summary>
internal sealed record SetStmt(Expr Target, Expr? Value, IReadOnlyList<Stmt>? Body, int Line) : Stmt(Line);

/// <summary><c>{% macro name(params) %}…{% endmacro %}</c>.</summary>
internal sealed record MacroStmt(string Name, IReadOnlyList<(string Name, Expr? Default)> Parameters, IReadOnlyList<Stmt> Body, int Line) : Stmt(Line);

/// <summary><c>{% break %}</c> or <c>{% continue %}</c>.</summary>
internal sealed record LoopControlStmt(bool IsBreak, int Line) : Stmt(Line);
