using System.Globalization;
using System.Text;
using LeadScoring.Messages;

namespace LeadScoring.Tests.Engine;

/// <summary>
/// Writes a message as one line of Segment JSON in one of many equivalent spellings: the same message to
/// <see cref="MessageParser"/>, but not all of them the plain shape <see cref="LeadScoring.Engine.LeadScoringEngine.ApplyJson"/>
/// reads on its fast path.
/// </summary>
internal static class SegmentLines
{
    [Flags]
    public enum Style
    {
        Plain = 0,
        /// <summary>Keys in reverse order (type last).</summary>
        Reversed = 1,
        /// <summary>Unknown keys at the top level and inside properties and context, with nested values.</summary>
        ExtraKeys = 2,
        /// <summary>Every <c>/</c> in a string escaped as <c>\u002F</c>, every <c>e</c> as <c>\u0065</c>.</summary>
        Escaped = 4,
        /// <summary><c>"anonymousId":null</c>, <c>"properties":null</c>, <c>"context":null</c> where absent.</summary>
        Nulls = 8,
        /// <summary>The timestamp with seven fraction digits.</summary>
        LongFraction = 16,
        /// <summary>The timestamp with a <c>+02:00</c> offset (the same instant).</summary>
        Offset = 32,
        /// <summary>The timestamp with a <c>-0500</c> offset and a lower-case <c>t</c> (the same instant).</summary>
        CompactOffset = 64,
        /// <summary>The type capitalised (<c>Track</c>, <c>PAGE</c>).</summary>
        CapitalType = 128,
        /// <summary>A repeated key: <c>messageId</c> twice with the same value, a property written twice (the last wins).</summary>
        Repeated = 256,
        /// <summary>Spaces, tabs and line breaks between tokens.</summary>
        Whitespace = 512,
        /// <summary>Property names escaped (<c>"\u0075rl"</c>).</summary>
        EscapedNames = 1024,
        /// <summary>A lower-case <c>z</c> for UTC.</summary>
        LowerZ = 2048,
    }

    public static string Write(LeadMessage m, Style style)
    {
        var keys = new List<(string Key, string Json)>();
        string type = m.Type.ToString().ToLowerInvariant();
        if ((style & Style.CapitalType) != 0)
        {
            type = m.Type == MessageType.Page ? "PAGE" : char.ToUpperInvariant(type[0]) + type[1..];
        }

        keys.Add(("type", Str(type, style)));
        keys.Add(("messageId", Str(m.MessageId, style)));
        if ((style & Style.Repeated) != 0)
        {
            keys.Add(("messageId", Str(m.MessageId, style)));
        }

        Optional(keys, "userId", m.UserId, style);
        Optional(keys, "anonymousId", m.AnonymousId, style);
        keys.Add(("timestamp", Str(Timestamp(m.TimestampTicks, style), style)));
        Optional(keys, "event", m.Event, style);
        Optional(keys, "name", m.Name, style);
        Optional(keys, "groupId", m.GroupId, style);
        Optional(keys, "previousId", m.PreviousId, style);
        Object(keys, "properties", m.Properties, style);
        Object(keys, "context", m.Context, style);
        Object(keys, "traits", m.Traits, style);
        if ((style & Style.ExtraKeys) != 0)
        {
            keys.Insert(1, ("sentAt", "\"2020-01-01T00:00:00Z\""));
            keys.Add(("integrations", """{"All":true,"Salesforce":{"x":[1,2.5,{"y":null}],"url":"/pricing"}}"""));
            keys.Add(("version", "2"));
            keys.Add(("traits_", "null"));
        }

        if ((style & Style.Reversed) != 0)
        {
            keys.Reverse();
        }

        string sep = (style & Style.Whitespace) != 0 ? " \t\r\n " : "";
        var sb = new StringBuilder("{").Append(sep);
        for (int i = 0; i < keys.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(sep).Append(',').Append(sep);
            }

            sb.Append(Name(keys[i].Key, style)).Append(sep).Append(':').Append(sep).Append(keys[i].Json);
        }

        return sb.Append(sep).Append('}').ToString();
    }

    private static void Optional(List<(string, string)> keys, string key, string? value, Style style)
    {
        if (value is not null)
        {
            keys.Add((key, Str(value, style)));
        }
        else if ((style & Style.Nulls) != 0 && key == "anonymousId")
        {
            keys.Add((key, "null"));
        }
    }

    private static void Object(List<(string, string)> keys, string key, DataValue? value, Style style)
    {
        if (value is not null)
        {
            keys.Add((key, Value(value, style, top: key != "traits")));
        }
        else if ((style & Style.Nulls) != 0 && key != "traits")
        {
            keys.Add((key, "null"));
        }
    }

    private static string Timestamp(long ticks, Style style)
    {
        var utc = new DateTime(ticks, DateTimeKind.Utc);
        var invariant = CultureInfo.InvariantCulture;
        if ((style & Style.Offset) != 0)
        {
            return utc.AddHours(2).ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", invariant) + "+02:00";
        }

        if ((style & Style.CompactOffset) != 0)
        {
            return utc.AddHours(-5).ToString("yyyy-MM-dd't'HH:mm:ss.FFFFFFF", invariant) + "-0500";
        }

        string z = (style & Style.LowerZ) != 0 ? "z" : "Z";
        return (style & Style.LongFraction) != 0
            ? utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", invariant) + z
            : utc.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", invariant) + z;
    }

    private static string Value(DataValue v, Style style, bool top = false)
    {
        switch (v.Kind)
        {
            case DataKind.String:
                return Str(v.Text!, style);
            case DataKind.Number:
                return v.Text!;
            case DataKind.True:
                return "true";
            case DataKind.False:
                return "false";
            case DataKind.Null:
                return "null";
            case DataKind.Array:
                return "[" + string.Join(",", v.Items!.Select(i => Value(i, style))) + "]";
            default:
                var parts = new List<string>();
                if (top && (style & Style.ExtraKeys) != 0)
                {
                    parts.Add("\"unknown\":{\"url\":5,\"deep\":[[[\"x\"]]],\"source\":null}");
                }

                for (int i = 0; i < v.Keys!.Length; i++)
                {
                    if (top && (style & Style.Repeated) != 0)
                    {
                        // Written twice: the parser keeps the last, which is the message's own value.
                        parts.Add(Name(v.Keys[i], style) + ":\"/repeated\"");
                    }

                    parts.Add(Name(v.Keys[i], style) + ":" + Value(v.Values![i], style));
                }

                if (top && (style & Style.ExtraKeys) != 0)
                {
                    parts.Add("\"tail\":true");
                }

                return "{" + string.Join(",", parts) + "}";
        }
    }

    private static string Name(string key, Style style)
    {
        if ((style & Style.EscapedNames) != 0 && key.Length > 0)
        {
            return "\"" + $"\\u{(int)key[0]:X4}" + Escape(key[1..], Style.Plain) + "\"";
        }

        return "\"" + Escape(key, Style.Plain) + "\"";
    }

    private static string Str(string s, Style style) => "\"" + Escape(s, style) + "\"";

    private static string Escape(string s, Style style)
    {
        var sb = new StringBuilder();
        foreach (char c in s)
        {
            if (c is '"' or '\\')
            {
                sb.Append('\\').Append(c);
            }
            else if (c < ' ' || ((style & Style.Escaped) != 0 && c is '/' or 'e'))
            {
                sb.Append($"\\u{(int)c:X4}");
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }
}
