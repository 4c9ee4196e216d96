namespace Distillery.Models.Templates.Jinja;

/// <summary>What a token is.</summary>
internal enum TokenKind
{
    Text,
    OpenStatement,
    CloseStatement,
    OpenExpression,
    CloseExpression,
    Name,
    String,
    Integer,
    Float,
    Operator,
    End,
}

/// <summary>One token, with the template line it starts on.</summary>
internal sealed record Token(TokenKind Kind, string Value, int Line);
