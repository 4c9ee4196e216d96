using System.Collections.Generic;
using System.Globalization;

namespace Distillery.Models.Templates.Jinja;

/// <summary>
/// Tokens → statements, by recursive descent in Jinja's precedence: conditional, <c>or</c>, <c>and</c>, <c>not</c>,
/// comparisons (<c>in</c>), <c>+ -</c>, <c>~</c>, <c>* / // %</c>, <c>**</c>, unary, then postfix (attribute, index,
/// slice, call) with filters and tests. Anything outside what chat templates use is an error naming it and its line.
/// </summary>
internal sealed class Parser
{
    private static readonly HashSet<string> Unsupported =
        ["raw", "call", "filter", "include", "import", "from", "extends", "block", "with", "autoescape", "do", "trans", "print"];

    private readonly List<Token> tokens;
    private int pos;

    private Parser(List<Token> tokens) => this.tokens = tokens;

    /// <summary>The statements of a template.</summary>
    public static List<Stmt> Parse(string source)
    {
        var parser = new Parser(Lexer.Tokenize(source));
        var body = parser.ParseBlock(out var end);
        if (end is not null) throw new JinjaException($"'{{% {end.Value} %}}' without a block to close", end.Line);
        return body;
    }

    private Token Current => tokens[pos];

    private Token Next() => tokens[pos++];

    private bool IsOperator(string op) => Current.Kind == TokenKind.Operator && Current.Value == op;

    private bool IsName(string name) => Current.Kind == TokenKind.Name && Current.Value == name;

    private bool AcceptOperator(string op)
    {
        if (!IsOperator(op)) return false;
        pos++;
        return true;
    }

    private bool AcceptName(string name)
    {
        if (!IsName(name)) return false;
        pos++;
        return true;
    }

    private void ExpectOperator(string op)
    {
        if (!AcceptOperator(op)) throw Unexpected($"'{op}'");
    }

    private string ExpectName()
    {
        if (Current.Kind != TokenKind.Name) throw Unexpected("a name");
        return Next().Value;
    }

    private void ExpectCloseStatement()
    {
        if (Current.Kind != TokenKind.CloseStatement) throw Unexpected("'%}'");
        pos++;
    }

    private JinjaException Unexpected(string expected) =>
        new(Current.Kind == TokenKind.End ? $"the template ends where {expected} was expected" : $"expected {expected} but found '{Current.Value}'", Current.Line);

    /// <summary>Statements up to an end tag this level does not own (returned in <paramref name="end"/>, its '%}' unread) or the end.</summary>
    private List<Stmt> ParseBlock(out Token? end)
    {
        var body = new List<Stmt>();
        while (true)
        {
            var token = Current;
            switch (token.Kind)
            {
                case TokenKind.End:
                    end = null;
                    return body;
                case TokenKind.Text:
                    body.Add(new TextStmt(Next().Value, token.Line));
                    break;
                case TokenKind.OpenExpression:
                    pos++;
                    var value = ParseExpression();
                    if (Current.Kind != TokenKind.CloseExpression) throw Unexpected("'}}'");
                    pos++;
                    body.Add(new OutputStmt(value, token.Line));
                    break;
                case TokenKind.OpenStatement:
                    pos++;
                    var keyword = Current;
                    if (keyword.Kind != TokenKind.Name) throw Unexpected("a statement name");
                    if (keyword.Value is "endif" or "endfor" or "endset" or "endmacro" or "elif" or "else")
                    {
                        end = keyword;
                        pos++;
                        return body;
                    }
                    pos++;
                    var statement = ParseStatement(keyword);
                    if (statement is not null) body.Add(statement);
                    break;
                default:
                    throw Unexpected("text or a tag");
            }
        }
    }

    private Stmt? ParseStatement(Token keyword)
    {
        switch (keyword.Value)
        {
            case "if": return ParseIf(keyword.Line);
            case "for": return ParseFor(keyword.Line);
            case "set": return ParseSet(keyword.Line);
            case "macro": return ParseMacro(keyword.Line);
            case "break" or "continue":
                ExpectCloseStatement();
                return new LoopControlStmt(keyword.Value == "break", keyword.Line);
            case "generation" or "endgeneration":
                // transformers' marker for assistant tokens: renders nothing.
                ExpectCloseStatement();
                return null;
            default:
                throw new JinjaException(Unsupported.Contains(keyword.Value) || keyword.Value.StartsWith("end", System.StringComparison.Ordinal)
                    ? $"unsupported construct '{{% {keyword.Value} %}}'"
                    : $"unknown statement '{{% {keyword.Value} %}}'", keyword.Line);
        }
    }

    private IfStmt ParseIf(int line)
    {
        var branches = new List<(Expr, IReadOnlyList<Stmt>)>();
        var condition = ParseExpression();
        while (true)
        {
            ExpectCloseStatement();
            var body = ParseBlock(out var end);
            branches.Add((condition, body));
            switch (end?.Value)
            {
                case "elif":
                    condition = ParseExpression();
                    continue;
                case "else":
                    ExpectCloseStatement();
                    var otherwise = ParseBlock(out var last);
                    if (last?.Value != "endif") throw Unclosed("if", "endif", line, last);
                    ExpectCloseStatement();
                    return new IfStmt(branches, otherwise, line);
                case "endif":
                    ExpectCloseStatement();
                    return new IfStmt(branches, [], line);
                default:
                    throw Unclosed("if", "endif", line, end);
            }
        }
    }

    private ForStmt ParseFor(int line)
    {
        var targets = new List<string> { ExpectName() };
        while (AcceptOperator(",")) targets.Add(ExpectName());
        if (!AcceptName("in")) throw Unexpected("'in'");
        var items = ParseConditionalFree();
        var filter = AcceptName("if") ? ParseExpression() : null;
        if (AcceptName("recursive")) throw new JinjaException("unsupported construct 'for ... recursive'", line);
        ExpectCloseStatement();
        var body = ParseBlock(out var end);
        IReadOnlyList<Stmt> otherwise = [];
        if (end?.Value == "else")
        {
            ExpectCloseStatement();
            otherwise = ParseBlock(out end);
        }
        if (end?.Value != "endfor") throw Unclosed("for", "endfor", line, end);
        ExpectCloseStatement();
        return new ForStmt(targets, items, filter, body, otherwise, line);
    }

    private SetStmt ParseSet(int line)
    {
        var target = ParsePrimaryWithPostfix();
        if (IsOperator(","))
        {
            var names = new List<Expr> { target };
            while (AcceptOperator(",")) names.Add(ParsePrimaryWithPostfix());
            target = new ListExpr(names, line);
        }
        if (AcceptOperator("="))
        {
            var value = ParseTupleOrExpression();
            ExpectCloseStatement();
            return new SetStmt(target, value, null, line);
        }
        ExpectCloseStatement();
        var body = ParseBlock(out var end);
        if (end?.Value != "endset") throw Unclosed("set", "endset", line, end);
        ExpectCloseStatement();
        return new SetStmt(target, null, body, line);
    }

    private MacroStmt ParseMacro(int line)
    {
        var name = ExpectName();
        var parameters = new List<(string, Expr?)>();
        ExpectOperator("(");
        while (!AcceptOperator(")"))
        {
            if (parameters.Count > 0) ExpectOperator(",");
            var parameter = ExpectName();
            parameters.Add((parameter, AcceptOperator("=") ? ParseExpression() : null));
        }
        ExpectCloseStatement();
        var body = ParseBlock(out var end);
        if (end?.Value != "endmacro") throw Unclosed("macro", "endmacro", line, end);
        ExpectCloseStatement();
        return new MacroStmt(name, parameters, body, line);
    }

    private static JinjaException Unclosed(string what, string closer, int line, Token? found) =>
        found is null
            ? new JinjaException($"'{{% {what} %}}' is never closed with '{{% {closer} %}}'", line)
            : new JinjaException($"'{{% {found.Value} %}}' where '{{% {closer} %}}' was expected (for the '{{% {what} %}}' on line {line})", found.Line);

    private Expr ParseTupleOrExpression()
    {
        var line = Current.Line;
        var first = ParseExpression();
        if (!IsOperator(",")) return first;
        var items = new List<Expr> { first };
        while (AcceptOperator(",")) items.Add(ParseExpression());
        return new ListExpr(items, line);
    }

    /// <summary>An expression, including the conditional <c>a if b else c</c>.</summary>
    private Expr ParseExpression()
    {
        var value = ParseOr();
        while (IsName("if"))
        {
            var line = Next().Line;
            var condition = ParseOr();
            var otherwise = AcceptName("else") ? ParseExpression() : null;
            value = new ConditionalExpr(condition, value, otherwise, line);
        }
        return value;
    }

    /// <summary>An expression without a trailing conditional (a for loop's items, before its <c>if</c> filter).</summary>
    private Expr ParseConditionalFree() => ParseOr();

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (IsName("or"))
        {
            var line = Next().Line;
            left = new BinaryExpr("or", left, ParseAnd(), line);
        }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (IsName("and"))
        {
            var line = Next().Line;
            left = new BinaryExpr("and", left, ParseNot(), line);
        }
        return left;
    }

    private Expr ParseNot()
    {
        if (IsName("not"))
        {
            var line = Next().Line;
            return new UnaryExpr("not", ParseNot(), line);
        }
        return ParseComparison();
    }

    private Expr ParseComparison()
    {
        var left = ParseAdditive();
        while (true)
        {
            var line = Current.Line;
            if (Current.Kind == TokenKind.Operator && Current.Value is "==" or "!=" or "<" or ">" or "<=" or ">=")
                left = new BinaryExpr(Next().Value, left, ParseAdditive(), line);
            else if (AcceptName("in"))
                left = new BinaryExpr("in", left, ParseAdditive(), line);
            else if (IsName("not") && tokens[pos + 1].Kind == TokenKind.Name && tokens[pos + 1].Value == "in")
            {
                pos += 2;
                left = new BinaryExpr("not in", left, ParseAdditive(), line);
            }
            else return left;
        }
    }

    private Expr ParseAdditive()
    {
        var left = ParseConcat();
        while (Current.Kind == TokenKind.Operator && Current.Value is "+" or "-")
        {
            var op = Next();
            left = new BinaryExpr(op.Value, left, ParseConcat(), op.Line);
        }
        return left;
    }

    private Expr ParseConcat()
    {
        var left = ParseMultiplicative();
        while (IsOperator("~"))
        {
            var op = Next();
            left = new BinaryExpr("~", left, ParseMultiplicative(), op.Line);
        }
        return left;
    }

    private Expr ParseMultiplicative()
    {
        var left = ParsePower();
        while (Current.Kind == TokenKind.Operator && Current.Value is "*" or "/" or "//" or "%")
        {
            var op = Next();
            left = new BinaryExpr(op.Value, left, ParsePower(), op.Line);
        }
        return left;
    }

    private Expr ParsePower()
    {
        var left = ParseUnary();
        while (IsOperator("**"))
        {
            var op = Next();
            left = new BinaryExpr("**", left, ParseUnary(), op.Line);
        }
        return left;
    }

    private Expr ParseUnary()
    {
        if (Current.Kind == TokenKind.Operator && Current.Value is "-" or "+")
        {
            var op = Next();
            return ParseFiltersAndTests(new UnaryExpr(op.Value, ParseUnaryOperand(), op.Line));
        }
        return ParseFiltersAndTests(ParsePrimaryWithPostfix());
    }

    private Expr ParseUnaryOperand()
    {
        if (Current.Kind == TokenKind.Operator && Current.Value is "-" or "+")
        {
            var op = Next();
            return new UnaryExpr(op.Value, ParseUnaryOperand(), op.Line);
        }
        return ParsePrimaryWithPostfix();
    }

    private Expr ParseFiltersAndTests(Expr value)
    {
        while (true)
        {
            if (IsOperator("|"))
            {
                var line = Next().Line;
                var name = ParseDottedName();
                if (!Filters.IsKnown(name)) throw new JinjaException($"unsupported filter '{name}'", line);
                value = new FilterExpr(value, name, IsOperator("(") ? ParseCallArguments() : CallArguments.None, line);
            }
            else if (IsName("is"))
            {
                var line = Next().Line;
                var negated = AcceptName("not");
                var name = Current.Kind == TokenKind.Operator && Current.Value is "==" or "!=" or "<" or ">" or "<=" or ">=" ? Next().Value : ExpectName();
                if (!Tests.IsKnown(name)) throw new JinjaException($"unsupported test 'is {name}'", line);
                CallArguments arguments;
                if (IsOperator("(")) arguments = ParseCallArguments();
                else if (Tests.TakesArgument(name) && StartsPrimary()) arguments = new CallArguments([ParsePrimaryWithPostfix()], []);
                else arguments = CallArguments.None;
                value = new TestExpr(value, name, negated, arguments, line);
            }
            else return value;
        }
    }

    private string ParseDottedName()
    {
        var name = ExpectName();
        return name;
    }

    private bool StartsPrimary() => Current.Kind switch
    {
        TokenKind.Name => Current.Value is not ("and" or "or" or "if" or "else" or "in" or "is" or "not"),
        TokenKind.String or TokenKind.Integer or TokenKind.Float => true,
        TokenKind.Operator => Current.Value is "(" or "[" or "{",
        _ => false,
    };

    private Expr ParsePrimaryWithPostfix()
    {
        var value = ParsePrimary();
        while (true)
        {
            var line = Current.Line;
            if (AcceptOperator("."))
            {
                if (Current.Kind == TokenKind.Integer) value = new IndexExpr(value, new LiteralExpr(long.Parse(Next().Value, CultureInfo.InvariantCulture), line), line);
                else value = new AttributeExpr(value, ExpectName(), line);
            }
            else if (AcceptOperator("[")) value = ParseSubscript(value, line);
            else if (IsOperator("(")) value = new CallExpr(value, ParseCallArguments(), line);
            else return value;
        }
    }

    private Expr ParseSubscript(Expr target, int line)
    {
        Expr? start = null, stop = null, step = null;
        if (!IsOperator(":")) start = ParseExpression();
        if (AcceptOperator("]"))
            return new IndexExpr(target, start ?? throw new JinjaException("an empty subscript '[]'", line), line);
        ExpectOperator(":");
        if (!IsOperator(":") && !IsOperator("]")) stop = ParseExpression();
        if (AcceptOperator(":") && !IsOperator("]")) step = ParseExpression();
        ExpectOperator("]");
        return new SliceExpr(target, start, stop, step, line);
    }

    private CallArguments ParseCallArguments()
    {
        ExpectOperator("(");
        var positional = new List<Expr>();
        var keyword = new List<(string, Expr)>();
        while (!AcceptOperator(")"))
        {
            if (positional.Count + keyword.Count > 0) ExpectOperator(",");
            if (AcceptOperator(")")) break;
            if (IsOperator("*")) throw new JinjaException("unsupported construct '*args' in a call", Current.Line);
            if (Current.Kind == TokenKind.Name && tokens[pos + 1].Kind == TokenKind.Operator && tokens[pos + 1].Value == "=")
            {
                var name = Next().Value;
                pos++;
                keyword.Add((name, ParseExpression()));
            }
            else positional.Add(ParseExpression());
        }
        return new CallArguments(positional, keyword);
    }

    private Expr ParsePrimary()
    {
        var token = Current;
        switch (token.Kind)
        {
            case TokenKind.String:
                var text = new System.Text.StringBuilder();
                while (Current.Kind == TokenKind.String) text.Append(Next().Value); // adjacent literals join, as in Python
                return new LiteralExpr(text.ToString(), token.Line);
            case TokenKind.Integer:
                pos++;
                return new LiteralExpr(long.Parse(token.Value, CultureInfo.InvariantCulture), token.Line);
            case TokenKind.Float:
                pos++;
                return new LiteralExpr(double.Parse(token.Value, CultureInfo.InvariantCulture), token.Line);
            case TokenKind.Name:
                pos++;
                return token.Value switch
                {
                    "true" or "True" => new LiteralExpr(true, token.Line),
                    "false" or "False" => new LiteralExpr(false, token.Line),
                    "none" or "None" => new LiteralExpr(null, token.Line),
                    _ => new NameExpr(token.Value, token.Line),
                };
            case TokenKind.Operator when token.Value == "(":
            {
                pos++;
                if (AcceptOperator(")")) return new ListExpr([], token.Line);
                var first = ParseExpression();
                if (AcceptOperator(")")) return first;
                var items = new List<Expr> { first };
                while (AcceptOperator(","))
                {
                    if (IsOperator(")")) break;
                    items.Add(ParseExpression());
                }
                ExpectOperator(")");
                return new ListExpr(items, token.Line);
            }
            case TokenKind.Operator when token.Value == "[":
            {
                pos++;
                var items = new List<Expr>();
                while (!AcceptOperator("]"))
                {
                    if (items.Count > 0) ExpectOperator(",");
                    if (AcceptOperator("]")) break;
                    items.Add(ParseExpression());
                }
                return new ListExpr(items, token.Line);
            }
            case TokenKind.Operator when token.Value == "{":
            {
                pos++;
                var items = new List<(Expr, Expr)>();
                while (!AcceptOperator("}"))
                {
                    if (items.Count > 0) ExpectOperator(",");
                    if (AcceptOperator("}")) break;
                    var key = ParseExpression();
                    ExpectOperator(":");
                    items.Add((key, ParseExpression()));
                }
                return new DictExpr(items, token.Line);
            }
            default:
                throw Unexpected("a value");
        }
    }
}
