namespace LeadScoring.PostgreSql;

/// <summary>
/// PostgreSQL text cannot hold U+0000. Text is stored with U+0000 written as U+0001 '0' and U+0001 as U+0001 '1', an
/// escape that is undone exactly on reading; text without either character (nearly all) is stored as it is.
/// </summary>
internal static class PgText
{
    private const char Escape = '\u0001';

    /// <summary><see cref="Encode"/> of a text that may be absent: null stays null.</summary>
    public static string? EncodeOrNull(string? text) => text is null ? null : Encode(text);

    public static string Encode(string text)
    {
        if (text.AsSpan().IndexOfAny('\0', Escape) < 0)
        {
            return text;
        }

        var builder = new System.Text.StringBuilder(text.Length + 8);
        foreach (char c in text)
        {
            _ = c switch
            {
                '\0' => builder.Append(Escape).Append('0'),
                Escape => builder.Append(Escape).Append('1'),
                _ => builder.Append(c),
            };
        }

        return builder.ToString();
    }

    public static string Decode(string text)
    {
        if (!text.Contains(Escape, StringComparison.Ordinal))
        {
            return text;
        }

        var builder = new System.Text.StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != Escape)
            {
                builder.Append(text[i]);
                continue;
            }

            builder.Append(++i < text.Length && text[i] == '0' ? '\0' : i < text.Length && text[i] == '1' ? Escape
                : throw new InvalidDataException("Lead store: a stored text has a broken escape."));
        }

        return builder.ToString();
    }
}
