using System.Text;
using System.Text.Json;
using LeadScoring.Model;

namespace LeadScoring.Json;

internal enum JKind
{
    Object,
    Array,
    String,
    Number,
    True,
    False,
    Null,
}

/// <summary>A JSON value with the byte offset it starts at, so errors can name a line and column.</summary>
internal sealed class JNode
{
    public JKind Kind;
    public int Offset;
    public string? Text;
    public double Number;
    public List<JProperty>? Properties;
    public List<JNode>? Items;

    public string KindName => Kind switch
    {
        JKind.Object => "an object",
        JKind.Array => "an array",
        JKind.String => "a string",
        JKind.Number => "a number",
        JKind.True or JKind.False => "a boolean",
        _ => "null",
    };
}

internal readonly record struct JProperty(string Name, int Offset, JNode Value);

/// <summary>Thrown for a document that is not well-formed JSON or breaks a size limit while it is read.</summary>
internal sealed class LocatedJsonException(string message, int offset) : Exception(message)
{
    public int Offset { get; } = offset;
}

/// <summary>Reads UTF-8 JSON into <see cref="JNode"/>s with bounded depth, string length and item counts.</summary>
internal static class LocatedJsonReader
{
    public static JNode Parse(ReadOnlySpan<byte> utf8, ModelLoadOptions limits)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions
        {
            MaxDepth = limits.MaxDepth,
            CommentHandling = JsonCommentHandling.Disallow,
            AllowTrailingCommas = false,
        });
        try
        {
            if (!reader.Read())
            {
                throw new LocatedJsonException("the document is empty", 0);
            }

            var root = ReadValue(ref reader, limits);
            if (reader.Read())
            {
                throw new LocatedJsonException("unexpected content after the end of the document", (int)reader.TokenStartIndex);
            }

            return root;
        }
        catch (JsonException ex)
        {
            // Utf8JsonReader reports 0-based line and byte-in-line; turn them back into an offset.
            int offset = OffsetOf(utf8, ex.LineNumber ?? 0, ex.BytePositionInLine ?? 0);
            throw new LocatedJsonException("the document is not valid JSON: " + CleanMessage(ex.Message), offset);
        }
    }

    private static string CleanMessage(string message)
    {
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd('.', ' ');
    }

    private static int OffsetOf(ReadOnlySpan<byte> utf8, long line, long byteInLine)
    {
        int offset = 0;
        for (long l = 0; l < line && offset < utf8.Length; offset++)
        {
            if (utf8[offset] == (byte)'\n')
            {
                l++;
            }
        }

        return (int)Math.Min(utf8.Length, offset + byteInLine);
    }

    private static JNode ReadValue(ref Utf8JsonReader reader, ModelLoadOptions limits)
    {
        var node = new JNode { Offset = (int)reader.TokenStartIndex };
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                node.Kind = JKind.Object;
                node.Properties = [];
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    int keyOffset = (int)reader.TokenStartIndex;
                    string name = ReadString(ref reader, limits);
                    reader.Read();
                    if (node.Properties.Count >= limits.MaxArrayItems)
                    {
                        throw new LocatedJsonException($"an object has more than {limits.MaxArrayItems} keys", keyOffset);
                    }

                    node.Properties.Add(new JProperty(name, keyOffset, ReadValue(ref reader, limits)));
                }

                break;
            case JsonTokenType.StartArray:
                node.Kind = JKind.Array;
                node.Items = [];
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (node.Items.Count >= limits.MaxArrayItems)
                    {
                        throw new LocatedJsonException($"an array has more than {limits.MaxArrayItems} items", (int)reader.TokenStartIndex);
                    }

                    node.Items.Add(ReadValue(ref reader, limits));
                }

                break;
            case JsonTokenType.String:
                node.Kind = JKind.String;
                node.Text = ReadString(ref reader, limits);
                break;
            case JsonTokenType.Number:
                node.Kind = JKind.Number;
                if (!reader.TryGetDouble(out node.Number) || !double.IsFinite(node.Number))
                {
                    node.Number = double.NaN;
                }

                break;
            case JsonTokenType.True:
                node.Kind = JKind.True;
                break;
            case JsonTokenType.False:
                node.Kind = JKind.False;
                break;
            default:
                node.Kind = JKind.Null;
                break;
        }

        return node;
    }

    private static string ReadString(ref Utf8JsonReader reader, ModelLoadOptions limits)
    {
        long length = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (length > limits.MaxStringLength * 6L)
        {
            throw new LocatedJsonException($"a string is longer than {limits.MaxStringLength} characters", (int)reader.TokenStartIndex);
        }

        string s;
        try
        {
            s = reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new LocatedJsonException("a string is not valid Unicode (a lone surrogate escape such as \\ud800)", (int)reader.TokenStartIndex);
        }

        if (s.Length > limits.MaxStringLength)
        {
            throw new LocatedJsonException($"a string is longer than {limits.MaxStringLength} characters", (int)reader.TokenStartIndex);
        }

        return s;
    }
}

/// <summary>Maps byte offsets of a UTF-8 document to 1-based lines and columns (columns count characters).</summary>
internal sealed class LineMap
{
    private readonly byte[] _utf8;
    private readonly List<int> _lineStarts = [0];

    public LineMap(ReadOnlySpan<byte> utf8)
    {
        _utf8 = utf8.ToArray();
        for (int i = 0; i < _utf8.Length; i++)
        {
            if (_utf8[i] == (byte)'\n')
            {
                _lineStarts.Add(i + 1);
            }
        }
    }

    public (int Line, int Column) Locate(int offset)
    {
        offset = Math.Clamp(offset, 0, _utf8.Length);
        int index = _lineStarts.BinarySearch(offset);
        int line = index >= 0 ? index : ~index - 1;
        int start = _lineStarts[line];
        int column = Encoding.UTF8.GetCharCount(_utf8, start, offset - start) + 1;
        return (line + 1, column);
    }
}
