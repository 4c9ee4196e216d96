using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Distillery.Models.Templates.Jinja;

/// <summary>
/// Template text → tokens. Whitespace follows transformers' environment (<c>trim_blocks</c>, <c>lstrip_blocks</c>, one
/// trailing newline dropped) as @huggingface/jinja applies it, then <c>-</c> markers strip whitespace beside a tag.
/// </summary>
internal static partial class Lexer
{
    // A newline trim_blocks removed: still counted as a line, never emitted.
    private const char RemovedNewline = '\u0001';

    private static readonly string[] Operators =
        ["**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|"];

    /// <summary>The tokens of a template, ending with <see cref="TokenKind.End"/>.</summary>
    public static List<Token> Tokenize(string source)
    {
        var src = Preprocess(source);
        var tokens = new List<Token>();
        var pos = 0;
        var line = 1;
        while (pos < src.Length)
        {
            var open = NextTag(src, pos);
            if (open > pos) tokens.Add(new Token(TokenKind.Text, src[pos..open].Replace(RemovedNewline.ToString(), "", StringComparison.Ordinal), line));
            line += CountLines(src, pos, open);
            pos = open;
            if (pos >= src.Length) break;
            var kind = src[pos + 1];
            var stripBefore = pos + 2 < src.Length && src[pos + 2] == '-';
            if (stripBefore) StripTrailingWhitespace(tokens);
            pos += stripBefore ? 3 : 2;
            if (kind == '#')
            {
                var end = src.IndexOf("#}", pos, StringComparison.Ordinal);
                if (end < 0) throw new JinjaException("a comment '{#' is never closed with '#}'", line);
                var stripAfter = end > pos && src[end - 1] == '-';
                line += CountLines(src, pos, end + 2);
                pos = end + 2;
                if (stripAfter) pos = SkipWhitespace(src, pos, ref line);
                continue;
            }
            var statement = kind == '%';
            tokens.Add(new Token(statement ? TokenKind.OpenStatement : TokenKind.OpenExpression, statement ? "{%" : "{{", line));
            pos = TokenizeTag(src, pos, statement, tokens, ref line);
        }
        tokens.Add(new Token(TokenKind.End, "", line));
        return tokens;
    }

    /// <summary>transformers' trim_blocks and lstrip_blocks, exactly as @huggingface/jinja's preprocessing writes them.</summary>
    private static string Preprocess(string template)
    {
        if (template.EndsWith('\n')) template = template[..^1];
        template = LeadingBlockWhitespace().Replace(template, "$1");
        return NewlineAfterBlock().Replace(template, "$1" + RemovedNewline);
    }

    [GeneratedRegex(@"(?<=^|[\n\r\u2028\u2029])[ \t]*(\{[#%-])")]
    private static partial Regex LeadingBlockWhitespace();

    [GeneratedRegex(@"([#%-]\})\n")]
    private static partial Regex NewlineAfterBlock();

    private static int NextTag(string src, int from)
    {
        var i = from;
        while (true)
        {
            i = src.IndexOf('{', i);
            if (i < 0 || i + 1 >= src.Length) return src.Length;
            if (src[i + 1] is '{' or '%' or '#') return i;
            i++;
        }
    }

    private static int TokenizeTag(string src, int pos, bool statement, List<Token> tokens, ref int line)
    {
        var braceDepth = 0;
        while (true)
        {
            pos = SkipWhitespace(src, pos, ref line);
            if (pos >= src.Length) throw new JinjaException(statement ? "a tag '{%' is never closed with '%}'" : "an expression '{{' is never closed with '}}'", line);
            var c = src[pos];
            var close = statement ? "%}" : "}}";
            if (c == '-' && string.CompareOrdinal(src, pos + 1, close, 0, 2) == 0 && (statement || braceDepth == 0))
            {
                tokens.Add(new Token(statement ? TokenKind.CloseStatement : TokenKind.CloseExpression, close, line));
                return SkipWhitespace(src, pos + 3, ref line);
            }
            if (string.CompareOrdinal(src, pos, close, 0, 2) == 0 && (statement || braceDepth == 0))
            {
                tokens.Add(new Token(statement ? TokenKind.CloseStatement : TokenKind.CloseExpression, close, line));
                return pos + 2;
            }
            if (c is '\'' or '"')
            {
                var (text, end) = ReadString(src, pos, line);
                tokens.Add(new Token(TokenKind.String, text, line));
                line += CountLines(src, pos, end);
                pos = end;
                continue;
            }
            if (char.IsAsciiDigit(c))
            {
                var start = pos;
                while (pos < src.Length && (char.IsAsciiDigit(src[pos]) || src[pos] == '_')) pos++;
                var isFloat = pos + 1 < src.Length && src[pos] == '.' && char.IsAsciiDigit(src[pos + 1]);
                if (isFloat)
                {
                    pos++;
                    while (pos < src.Length && char.IsAsciiDigit(src[pos])) pos++;
                }
                tokens.Add(new Token(isFloat ? TokenKind.Float : TokenKind.Integer, src[start..pos].Replace("_", "", StringComparison.Ordinal), line));
                continue;
            }
            if (char.IsAsciiLetter(c) || c == '_')
            {
                var start = pos;
                while (pos < src.Length && (char.IsAsciiLetterOrDigit(src[pos]) || src[pos] == '_')) pos++;
                tokens.Add(new Token(TokenKind.Name, src[start..pos], line));
                continue;
            }
            var op = Array.Find(Operators, o => string.CompareOrdinal(src, pos, o, 0, o.Length) == 0)
                     ?? throw new JinjaException($"unexpected character '{c}'", line);
            if (op == "{") braceDepth++;
            if (op == "}") braceDepth--;
            tokens.Add(new Token(TokenKind.Operator, op, line));
            pos += op.Length;
        }
    }

    private static (string Text, int End) ReadString(string src, int pos, int line)
    {
        var quote = src[pos++];
        var sb = new StringBuilder();
        while (true)
        {
            if (pos >= src.Length) throw new JinjaException("a string literal is never closed", line);
            var c = src[pos++];
            if (c == quote) return (sb.ToString(), pos);
            if (c == RemovedNewline) continue;
            if (c != '\\') { sb.Append(c); continue; }
            if (pos >= src.Length) throw new JinjaException("a string literal is never closed", line);
            var e = src[pos++];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'v': sb.Append('\v'); break;
                case '\'' or '"' or '\\': sb.Append(e); break;
                case 'x' or 'u':
                    var n = e == 'x' ? 2 : 4;
                    if (pos + n > src.Length || !int.TryParse(src.AsSpan(pos, n), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code))
                        throw new JinjaException($"invalid escape \\{e} in a string literal", line);
                    sb.Append((char)code);
                    pos += n;
                    break;
                default: throw new JinjaException($"unsupported escape \\{e} in a string literal", line);
            }
        }
    }

    private static void StripTrailingWhitespace(List<Token> tokens)
    {
        if (tokens.Count == 0 || tokens[^1].Kind != TokenKind.Text) return;
        var trimmed = tokens[^1].Value.TrimEnd();
        if (trimmed.Length == 0) tokens.RemoveAt(tokens.Count - 1);
        else tokens[^1] = tokens[^1] with { Value = trimmed };
    }

    private static int SkipWhitespace(string src, int pos, ref int line)
    {
        while (pos < src.Length && (char.IsWhiteSpace(src[pos]) || src[pos] == RemovedNewline))
        {
            if (src[pos] is '\n' or RemovedNewline) line++;
            pos++;
        }
        return pos;
    }

    private static int CountLines(string src, int from, int to)
    {
        var n = 0;
        for (var i = from; i < to && i < src.Length; i++) if (src[i] is '\n' or RemovedNewline) n++;
        return n;
    }
}
