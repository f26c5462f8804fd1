using System.Text;
using System.Text.Json;

namespace LeadScoring.Messages;

/// <summary>
/// Per-message input limits. A message over a limit is rejected with a reason naming the limit, in time linear in
/// its size; raise a limit where your messages need it. The defaults are in the README's "Input limits" table.
/// </summary>
public sealed record MessageLimits
{
    /// <summary>The highest depth accepted for <see cref="MaxDepth"/> (readers recurse over a message's nesting).</summary>
    public const int DepthCeiling = 1000;

    private readonly int _maxDepth = 64;
    private readonly int _maxKeys = 10_000;
    private readonly int _maxStringBytes = 64 * 1024;

    /// <summary>The default limits.</summary>
    public static MessageLimits Default { get; } = new();

    /// <summary>The deepest nesting of objects and arrays, the message object itself being depth 1. Default 64, at most <see cref="DepthCeiling"/>.</summary>
    public int MaxDepth
    {
        get => _maxDepth;
        init => _maxDepth = value is >= 1 and <= DepthCeiling ? value : throw new ArgumentOutOfRangeException(nameof(MaxDepth), value, $"must be 1 to {DepthCeiling}");
    }

    /// <summary>The most object keys in one message, at all levels together. Default 10,000.</summary>
    public int MaxKeys
    {
        get => _maxKeys;
        init => _maxKeys = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(MaxKeys), value, "must be at least 1");
    }

    /// <summary>The longest string value or key, in UTF-8 bytes as written in the JSON (escapes included). Default 65,536.</summary>
    public int MaxStringBytes
    {
        get => _maxStringBytes;
        init => _maxStringBytes = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(MaxStringBytes), value, "must be at least 1");
    }

    private struct Frame
    {
        public bool IsObject;
        public int Index;
        public string Segment;
        public string? Key;
        public HashSet<string>? Keys;
    }

    /// <summary>
    /// Checks a message's JSON in one pass: depth, key count, string lengths, and keys repeated within one object
    /// (refused: which one wins is not defined). Returns the reason of the first problem, or null. Malformed JSON is
    /// left to the parser (returns null).
    /// </summary>
    internal string? Check(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = DepthCeiling + 2 });
        var frames = new List<Frame>();
        int keys = 0;
        try
        {
            while (reader.Read())
            {
                var token = reader.TokenType;
                if (token == JsonTokenType.PropertyName)
                {
                    var top = frames[^1];
                    if (reader.ValueSpan.Length > MaxStringBytes)
                    {
                        return $"a key at {Path(frames)} is longer than {MaxStringBytes} bytes (MessageLimits.MaxStringBytes)";
                    }

                    if (++keys > MaxKeys)
                    {
                        return $"more than {MaxKeys} keys (MessageLimits.MaxKeys), at {Path(frames)}";
                    }

                    string key = reader.GetString()!;
                    top.Keys ??= new HashSet<string>(StringComparer.Ordinal);
                    top.Key = key;
                    frames[^1] = top;
                    if (!top.Keys.Add(key))
                    {
                        return $"duplicate key {Path(frames)}: a key may appear once in an object";
                    }

                    continue;
                }

                if (token is JsonTokenType.EndObject or JsonTokenType.EndArray)
                {
                    frames.RemoveAt(frames.Count - 1);
                    continue;
                }

                string segment = "$";
                if (frames.Count > 0)
                {
                    var top = frames[^1];
                    segment = top.IsObject ? Member(top.Key!) : $"[{top.Index}]";
                    if (!top.IsObject)
                    {
                        top.Index++;
                        frames[^1] = top;
                    }
                }

                string where = frames.Count == 0 ? "$" : frames[^1].IsObject ? Path(frames) : Path(frames) + segment;
                if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    if (frames.Count >= MaxDepth)
                    {
                        return $"nested deeper than {MaxDepth} levels (MessageLimits.MaxDepth), at {where}";
                    }

                    frames.Add(new Frame { IsObject = token == JsonTokenType.StartObject, Segment = segment });
                }
                else if (token == JsonTokenType.String && reader.ValueSpan.Length > MaxStringBytes)
                {
                    return $"the string at {where} is longer than {MaxStringBytes} bytes (MessageLimits.MaxStringBytes)";
                }
            }
        }
        catch (JsonException)
        {
            return null;
        }
        catch (InvalidOperationException ex)
        {
            return "a string is not valid Unicode: " + ex.Message;
        }

        return null;
    }

    private static string Path(List<Frame> frames)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < frames.Count; i++)
        {
            sb.Append(frames[i].Segment);
        }

        if (frames.Count > 0 && frames[^1].IsObject && frames[^1].Key is { } key)
        {
            sb.Append(Member(key));
        }

        return sb.Length == 0 ? "$" : sb.ToString();
    }

    private static string Member(string key)
    {
        foreach (char c in key)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-'))
            {
                return "[" + JsonSerializer.Serialize(key) + "]";
            }
        }

        return key.Length == 0 ? "[\"\"]" : "." + key;
    }
}
