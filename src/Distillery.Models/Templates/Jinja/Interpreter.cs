using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace Distillery.Models.Templates.Jinja;

/// <summary>Renders parsed statements: control flow, assignment and macros here, expressions in <see cref="Evaluate"/>.</summary>
internal sealed class Interpreter
{
    private enum Flow { Normal, Break, Continue }

    /// <summary>Renders statements in a scope into text.</summary>
    public static string Render(IReadOnlyList<Stmt> body, Scope scope)
    {
        var sb = new StringBuilder();
        if (new Interpreter().Execute(body, scope, sb) != Flow.Normal) throw new JinjaException("'break' or 'continue' outside a loop", body.Count > 0 ? body[0].Line : 1);
        return sb.ToString();
    }

    private Flow Execute(IReadOnlyList<Stmt> body, Scope scope, StringBuilder output)
    {
        foreach (var statement in body)
        {
            var flow = Execute(statement, scope, output);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    private Flow Execute(Stmt statement, Scope scope, StringBuilder output)
    {
        switch (statement)
        {
            case TextStmt text:
                output.Append(text.Text);
                return Flow.Normal;
            case OutputStmt o:
                output.Append(JinjaValues.ToText(Evaluate(o.Value, scope)));
                return Flow.Normal;
            case IfStmt i:
                foreach (var (condition, branch) in i.Branches)
                    if (JinjaValues.IsTrue(Evaluate(condition, scope))) return Execute(branch, scope, output);
                return Execute(i.Else, scope, output);
            case ForStmt f:
                return ExecuteFor(f, scope, output);
            case SetStmt s:
                var value = s.Value is not null ? Evaluate(s.Value, scope) : RenderBody(s.Body!, scope);
                Assign(s.Target, value, scope);
                return Flow.Normal;
            case MacroStmt m:
                scope.Set(m.Name, MakeMacro(m, scope));
                return Flow.Normal;
            case LoopControlStmt c:
                return c.IsBreak ? Flow.Break : Flow.Continue;
            default:
                throw new JinjaException($"cannot render {statement.GetType().Name}", statement.Line);
        }
    }

    private string RenderBody(IReadOnlyList<Stmt> body, Scope scope)
    {
        var sb = new StringBuilder();
        Execute(body, scope, sb);
        return sb.ToString();
    }

    private Flow ExecuteFor(ForStmt f, Scope outer, StringBuilder output)
    {
        var scope = new Scope(outer);
        List<object?> items;
        try
        {
            items = JinjaValues.Iterate(Evaluate(f.Items, scope));
        }
        catch (InvalidOperationException e)
        {
            throw new JinjaException(e.Message, f.Line);
        }
        if (f.Filter is not null)
        {
            var kept = new List<object?>();
            foreach (var item in items)
            {
                var probe = new Scope(scope);
                Bind(f.Targets, item, probe, f.Line);
                if (JinjaValues.IsTrue(Evaluate(f.Filter, probe))) kept.Add(item);
            }
            items = kept;
        }
        if (items.Count == 0) return Execute(f.Else, scope, output);
        for (var i = 0; i < items.Count; i++)
        {
            var loop = JinjaValues.Map();
            loop["index"] = (long)i + 1;
            loop["index0"] = (long)i;
            loop["revindex"] = (long)(items.Count - i);
            loop["revindex0"] = (long)(items.Count - i - 1);
            loop["first"] = i == 0;
            loop["last"] = i == items.Count - 1;
            loop["length"] = (long)items.Count;
            loop["previtem"] = i > 0 ? items[i - 1] : Undefined.Instance;
            loop["nextitem"] = i < items.Count - 1 ? items[i + 1] : Undefined.Instance;
            var index = i;
            loop["cycle"] = new Callable("cycle", a => a.Positional.Count == 0 ? Undefined.Instance : a.Positional[index % a.Positional.Count]);
            scope.Set("loop", loop);
            Bind(f.Targets, items[i], scope, f.Line);
            if (Execute(f.Body, scope, output) == Flow.Break) break;
        }
        return Flow.Normal;
    }

    private static void Bind(IReadOnlyList<string> targets, object? item, Scope scope, int line)
    {
        if (targets.Count == 1)
        {
            scope.Set(targets[0], item);
            return;
        }
        var parts = item as List<object?> ?? throw new JinjaException($"cannot unpack {JinjaValues.TypeName(item)} into {targets.Count} names", line);
        if (parts.Count != targets.Count) throw new JinjaException($"cannot unpack {parts.Count} values into {targets.Count} names", line);
        for (var i = 0; i < targets.Count; i++) scope.Set(targets[i], parts[i]);
    }

    private void Assign(Expr target, object? value, Scope scope)
    {
        switch (target)
        {
            case NameExpr n:
                scope.Set(n.Name, value);
                break;
            case AttributeExpr { Target: var owner } a:
                if (Evaluate(owner, scope) is not Namespace ns) throw new JinjaException("only a namespace's attributes can be assigned ('set ns.name = ...')", a.Line);
                ns.Attributes[a.Name] = value;
                break;
            case ListExpr l:
                Bind(l.Items.Select(x => x is NameExpr n ? n.Name : throw new JinjaException("can only unpack into names", x.Line)).ToList(), value, scope, l.Line);
                break;
            default:
                throw new JinjaException("cannot assign to this expression", target.Line);
        }
    }

    private Callable MakeMacro(MacroStmt m, Scope definition) => new(m.Name, arguments =>
    {
        var scope = new Scope(definition);
        for (var i = 0; i < m.Parameters.Count; i++)
        {
            var (name, fallback) = m.Parameters[i];
            object? value = i < arguments.Positional.Count ? arguments.Positional[i]
                : arguments.Keyword.TryGetValue(name, out var k) ? k
                : fallback is not null ? Evaluate(fallback, scope) : Undefined.Instance;
            scope.Set(name, value);
        }
        return RenderBody(m.Body, scope);
    });

    /// <summary>An expression's value; a failure becomes a <see cref="JinjaException"/> at the innermost expression's line.</summary>
    private object? Evaluate(Expr expression, Scope scope)
    {
        try
        {
            return EvaluateUnchecked(expression, scope);
        }
        catch (InvalidOperationException e)
        {
            throw new JinjaException(e.Message, expression.Line);
        }
    }

    private object? EvaluateUnchecked(Expr expression, Scope scope)
    {
        switch (expression)
        {
            case LiteralExpr l: return l.Value;
            case NameExpr n: return scope.Lookup(n.Name);
            case ListExpr l: return l.Items.Select(x => Evaluate(x, scope)).ToList();
            case DictExpr d:
                var map = JinjaValues.Map();
                foreach (var (key, value) in d.Items)
                    map[Evaluate(key, scope) as string ?? throw new InvalidOperationException("mapping keys must be strings")] = Evaluate(value, scope);
                return map;
            case AttributeExpr a: return Members.Get(Evaluate(a.Target, scope), a.Name);
            case IndexExpr i: return Operators.Index(Evaluate(i.Target, scope), Evaluate(i.Index, scope));
            case SliceExpr s:
                return Operators.Slice(Evaluate(s.Target, scope), Integer(s.Start, scope), Integer(s.Stop, scope), Integer(s.Step, scope));
            case CallExpr c:
                var callee = Evaluate(c.Callee, scope);
                if (callee is not Callable function)
                    throw new InvalidOperationException(c.Callee is NameExpr name ? $"'{name.Name}' is not a function" : c.Callee is AttributeExpr member ? $"no method '{member.Name}' on {JinjaValues.TypeName(Evaluate(member.Target, scope))}" : "not a function");
                return function.Invoke(Arguments(c.Arguments, scope));
            case FilterExpr f: return Filters.Apply(f.Name, Evaluate(f.Operand, scope), Arguments(f.Arguments, scope));
            case TestExpr t:
                var passed = Tests.Run(t.Name, Evaluate(t.Operand, scope), Arguments(t.Arguments, scope).Positional);
                return t.Negated ? !passed : passed;
            case UnaryExpr u:
                var operand = Evaluate(u.Operand, scope);
                return u.Operator switch
                {
                    "not" => !JinjaValues.IsTrue(operand),
                    "-" => operand switch { long x => (object?)(-x), double x => -x, bool b => b ? -1L : 0L, _ => throw new InvalidOperationException($"cannot negate {JinjaValues.TypeName(operand)}") },
                    _ => JinjaValues.IsNumber(operand) ? operand : throw new InvalidOperationException($"'+' needs a number, not {JinjaValues.TypeName(operand)}"),
                };
            case BinaryExpr { Operator: "and" } b:
                var left = Evaluate(b.Left, scope);
                return JinjaValues.IsTrue(left) ? Evaluate(b.Right, scope) : left;
            case BinaryExpr { Operator: "or" } b:
                var first = Evaluate(b.Left, scope);
                return JinjaValues.IsTrue(first) ? first : Evaluate(b.Right, scope);
            case BinaryExpr b:
                return Operators.Binary(b.Operator, Evaluate(b.Left, scope), Evaluate(b.Right, scope));
            case ConditionalExpr c:
                return JinjaValues.IsTrue(Evaluate(c.Condition, scope)) ? Evaluate(c.Then, scope) : c.Else is null ? Undefined.Instance : Evaluate(c.Else, scope);
            default:
                throw new InvalidOperationException($"cannot evaluate {expression.GetType().Name}");
        }
    }

    private long? Integer(Expr? expression, Scope scope) => expression is null ? null : Evaluate(expression, scope) switch
    {
        long l => l,
        null => null,
        var v => throw new InvalidOperationException($"slice indices must be integers, not {JinjaValues.TypeName(v)}"),
    };

    private Arguments Arguments(CallArguments arguments, Scope scope)
    {
        var keyword = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in arguments.Keyword) keyword[name] = Evaluate(value, scope);
        return new Arguments(arguments.Positional.Select(x => Evaluate(x, scope)).ToList(), keyword);
    }
}
