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

    /// <summary>One open object or array of the message being checked.</summary>
    private struct Frame
    {
        public bool IsObject;

        /// <summary>The index of the next element of an array.</summary>
        public int Index;

        /// <summary>Where this container sits in its parent: the parent's key (object) or index (array); root: both unset.</summary>
        public string? ParentKey;
        public int ParentIndex;

        /// <summary>The current key of an object (materialised only when a path or a set needs it).</summary>
        public int KeyStart;
        public int KeyLength;
        public string? Key;

        /// <summary>The first of this object's keys in the shared list of key ranges; past 32 keys, a set instead.</summary>
        public int KeyBase;
        public HashSet<string>? Keys;
    }

    private const int LinearKeys = 32;

    [ThreadStatic]
    private static List<Frame>? t_frames;

    [ThreadStatic]
    private static List<(int Start, int Length)>? t_keys;

    /// <summary>
    /// Checks a message's JSON in one pass: depth, key count, string lengths, and keys repeated within one object
    /// (refused: which one wins is not defined). Returns the reason of the first problem, or null. Malformed JSON is
    /// left to the parser (returns null). Allocates nothing for a message within the limits whose keys are not escaped:
    /// paths are written only for a reason, and an object's keys are compared as bytes while it has at most 32.
    /// </summary>
    internal string? Check(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = DepthCeiling + 2 });
        var frames = t_frames ??= [];
        var keyRanges = t_keys ??= [];
        frames.Clear();
        keyRanges.Clear();
        int keys = 0;
        try
        {
            while (reader.Read())
            {
                var token = reader.TokenType;
                if (token == JsonTokenType.PropertyName)
                {
                    var top = frames[^1];
                    top.Key = null;
                    top.KeyStart = (int)reader.TokenStartIndex + 1;
                    top.KeyLength = reader.ValueSpan.Length;
                    frames[^1] = top;
                    if (reader.ValueSpan.Length > MaxStringBytes)
                    {
                        return $"a key at {Path(frames, json)} is longer than {MaxStringBytes} bytes (MessageLimits.MaxStringBytes)";
                    }

                    if (++keys > MaxKeys)
                    {
                        return $"more than {MaxKeys} keys (MessageLimits.MaxKeys), at {Path(frames, json)}";
                    }

                    if (IsRepeated(ref reader, json, frames, keyRanges))
                    {
                        return $"duplicate key {Path(frames, json)}: a key may appear once in an object";
                    }

                    continue;
                }

                if (token is JsonTokenType.EndObject or JsonTokenType.EndArray)
                {
                    if (frames[^1].IsObject)
                    {
                        keyRanges.RemoveRange(frames[^1].KeyBase, keyRanges.Count - frames[^1].KeyBase);
                    }

                    frames.RemoveAt(frames.Count - 1);
                    continue;
                }

                // The value's place: the key it belongs to, or its index in the array.
                string? parentKey = null;
                int parentIndex = -1;
                if (frames.Count > 0)
                {
                    var top = frames[^1];
                    if (top.IsObject)
                    {
                        parentKey = KeyOf(ref top, json);
                    }
                    else
                    {
                        parentIndex = top.Index++;
                    }

                    frames[^1] = top;
                }

                if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    if (frames.Count >= MaxDepth)
                    {
                        return $"nested deeper than {MaxDepth} levels (MessageLimits.MaxDepth), at {Where(frames, json, parentIndex)}";
                    }

                    frames.Add(new Frame { IsObject = token == JsonTokenType.StartObject, ParentKey = parentKey, ParentIndex = parentIndex, KeyBase = keyRanges.Count });
                }
                else if (token == JsonTokenType.String && reader.ValueSpan.Length > MaxStringBytes)
                {
                    return $"the string at {Where(frames, json, parentIndex)} is longer than {MaxStringBytes} bytes (MessageLimits.MaxStringBytes)";
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
        finally
        {
            frames.Clear();
            keyRanges.Clear();
        }

        return null;
    }

    /// <summary>
    /// Whether the current key was already seen in its object. Unescaped keys of a small object are compared as bytes;
    /// an escaped key, or an object past <see cref="LinearKeys"/> keys, switches that object to a set of strings.
    /// </summary>
    private static bool IsRepeated(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, List<Frame> frames, List<(int Start, int Length)> keyRanges)
    {
        var top = frames[^1];
        if (top.Keys is null && !reader.ValueIsEscaped && keyRanges.Count - top.KeyBase < LinearKeys)
        {
            var key = reader.ValueSpan;
            if (!System.Text.Unicode.Utf8.IsValid(key))
            {
                _ = reader.GetString(); // throws as for any text that is not UTF-8: reported by the caller
            }

            for (int i = top.KeyBase; i < keyRanges.Count; i++)
            {
                var (start, length) = keyRanges[i];
                if (json.Slice(start, length).SequenceEqual(key))
                {
                    return true;
                }
            }

            keyRanges.Add((top.KeyStart, top.KeyLength));
            return false;
        }

        if (top.Keys is null)
        {
            top.Keys = new HashSet<string>(StringComparer.Ordinal);
            for (int i = top.KeyBase; i < keyRanges.Count; i++)
            {
                var (start, length) = keyRanges[i];
                top.Keys.Add(Encoding.UTF8.GetString(json.Slice(start, length)));
            }
        }

        top.Key = reader.GetString()!;
        frames[^1] = top;
        return !top.Keys.Add(top.Key);
    }

    /// <summary>The current key of an object as text (unescaped), materialised on demand.</summary>
    private static string KeyOf(ref Frame frame, ReadOnlySpan<byte> json)
    {
        if (frame.Key is null)
        {
            var raw = json.Slice(frame.KeyStart, frame.KeyLength);
            frame.Key = raw.IndexOf((byte)'\\') < 0 ? Encoding.UTF8.GetString(raw) : JsonDocument.Parse("\"" + Encoding.UTF8.GetString(raw) + "\"").RootElement.GetString()!;
        }

        return frame.Key;
    }

    /// <summary>The path of the value just read: its object's current key, or its index in the array.</summary>
    private static string Where(List<Frame> frames, ReadOnlySpan<byte> json, int index) =>
        frames.Count > 0 && !frames[^1].IsObject ? Path(frames, json) + Segment(null, index) : Path(frames, json);

    private static string Segment(string? key, int index) => key is not null ? Member(key) : index >= 0 ? $"[{index}]" : "";

    /// <summary>The JSON path of the current place: every open container's place, then the current key of the innermost object.</summary>
    private static string Path(List<Frame> frames, ReadOnlySpan<byte> json)
    {
        var sb = new StringBuilder("$");
        for (int i = 0; i < frames.Count; i++)
        {
            sb.Append(Segment(frames[i].ParentKey, frames[i].ParentIndex));
        }

        if (frames.Count > 0 && frames[^1].IsObject && frames[^1].KeyStart > 0)
        {
            var top = frames[^1];
            sb.Append(Member(KeyOf(ref top, json)));
            frames[^1] = top;
        }

        return sb.ToString();
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
