using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace LeadScoring.Messages;

/// <summary>
/// Per-message input limits. A message over a limit is rejected with a reason naming the limit, in time linear in
/// its size; raise a limit where your messages need it. The defaults are in the README's "Input limits" table.
/// </summary>
public sealed record MessageLimits
{
    /// <summary>
    /// The highest depth accepted for <see cref="MaxDepth"/>. The reader itself does not recurse, but code that walks a
    /// message's values afterwards does (the state codec, the JSON writer), so the stack bounds how deep a value may be.
    /// </summary>
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
    internal struct Frame
    {
        public bool IsObject;

        /// <summary>The index of the next element of an array.</summary>
        public int Index;

        /// <summary>
        /// Where this container sits in its parent: the parent's key (object: its raw bytes, and its text when it was
        /// materialised) or index (array); root: both unset (start and index -1).
        /// </summary>
        public int ParentKeyStart;
        public int ParentKeyLength;
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
    /// The key comparisons and set insertions the repeated-key check made on this thread, ever: its work, which a test
    /// counts to check it stays constant per key (at most <see cref="LinearKeys"/> + 1) whatever the object's size.
    /// </summary>
    [ThreadStatic]
    internal static long t_keyWork;

    /// <summary>
    /// One walk of a message against the limits, token by token (<see cref="Step"/>): the reader that parses the
    /// message drives it, so the limits cost no pass of their own. Dispose it when the message is done.
    /// </summary>
    internal struct Walk : IDisposable
    {
        internal List<Frame> Frames;
        internal List<(int Start, int Length)> KeyRanges;
        internal int Keys;

        /// <summary>The key just stepped over as text, when the walk had to materialise it (escaped, or in a large object); else null.</summary>
        internal readonly string? Key => Frames.Count > 0 ? Frames[^1].Key : null;

        /// <inheritdoc />
        public readonly void Dispose()
        {
            Frames.Clear();
            KeyRanges.Clear();
        }
    }

    /// <summary>Starts a walk over one message (the per-thread lists are reused: a walk allocates nothing until it needs a set or a path).</summary>
    internal static Walk StartWalk()
    {
        var walk = new Walk { Frames = t_frames ??= [], KeyRanges = t_keys ??= [] };
        walk.Frames.Clear();
        walk.KeyRanges.Clear();
        return walk;
    }

    /// <summary>
    /// Checks the token <paramref name="reader"/> is on: depth, key count, string lengths, and keys repeated within one
    /// object (refused: which one wins is not defined). Returns the reason of the first problem, or null. Call it for
    /// every token, in order, with a reader whose own depth limit is above <see cref="DepthCeiling"/>. A key that is
    /// not valid UTF-8 or Unicode throws <see cref="InvalidOperationException"/> as the reader does; malformed JSON is
    /// the reader's to report. Allocates nothing for a message within the limits whose keys are not escaped: paths are
    /// written only for a reason, and an object's keys are compared as bytes while it has at most 32.
    /// </summary>
    internal string? Step(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, ref Walk walk)
    {
        var frames = walk.Frames;
        var token = reader.TokenType;
        if (token == JsonTokenType.PropertyName)
        {
            ref var top = ref CollectionsMarshal.AsSpan(frames)[^1];
            top.Key = null;
            top.KeyStart = (int)reader.TokenStartIndex + 1;
            top.KeyLength = reader.ValueSpan.Length;
            if (reader.ValueSpan.Length > MaxStringBytes)
            {
                return $"a key at {Path(frames, json)} is longer than {MaxStringBytes} bytes (MessageLimits.MaxStringBytes)";
            }

            if (++walk.Keys > MaxKeys)
            {
                return $"more than {MaxKeys} keys (MessageLimits.MaxKeys), at {Path(frames, json)}";
            }

            if (IsRepeated(ref reader, json, ref top, walk.KeyRanges))
            {
                return $"duplicate key {Path(frames, json)}: a key may appear once in an object";
            }

            return null;
        }

        if (token is JsonTokenType.EndObject or JsonTokenType.EndArray)
        {
            var closed = frames[^1];
            if (closed.IsObject)
            {
                walk.KeyRanges.RemoveRange(closed.KeyBase, walk.KeyRanges.Count - closed.KeyBase);
            }

            frames.RemoveAt(frames.Count - 1);
            return null;
        }

        // The value's place: the key it belongs to, or its index in the array.
        int parentKeyStart = -1, parentKeyLength = 0, parentIndex = -1;
        string? parentKey = null;
        if (frames.Count > 0)
        {
            ref var top = ref CollectionsMarshal.AsSpan(frames)[^1];
            if (top.IsObject)
            {
                parentKeyStart = top.KeyStart;
                parentKeyLength = top.KeyLength;
                parentKey = top.Key;
            }
            else
            {
                parentIndex = top.Index++;
            }
        }

        if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            if (frames.Count >= MaxDepth)
            {
                return $"nested deeper than {MaxDepth} levels (MessageLimits.MaxDepth), at {Where(frames, json, parentIndex)}";
            }

            frames.Add(new Frame
            {
                IsObject = token == JsonTokenType.StartObject,
                ParentKeyStart = parentKeyStart,
                ParentKeyLength = parentKeyLength,
                ParentKey = parentKey,
                ParentIndex = parentIndex,
                KeyBase = walk.KeyRanges.Count,
            });
        }
        else if (token == JsonTokenType.String && reader.ValueSpan.Length > MaxStringBytes)
        {
            return $"the string at {Where(frames, json, parentIndex)} is longer than {MaxStringBytes} bytes (MessageLimits.MaxStringBytes)";
        }

        return null;
    }

    /// <summary>
    /// Whether the current key was already seen in its object. Unescaped keys of a small object are compared as bytes;
    /// an escaped key, or an object past <see cref="LinearKeys"/> keys, switches that object to a set of strings.
    /// </summary>
    private static bool IsRepeated(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, ref Frame top, List<(int Start, int Length)> keyRanges)
    {
        if (top.Keys is null && !reader.ValueIsEscaped && keyRanges.Count - top.KeyBase < LinearKeys)
        {
            var key = reader.ValueSpan;
            if (!System.Text.Unicode.Utf8.IsValid(key))
            {
                _ = reader.GetString(); // throws as for any text that is not UTF-8: reported by the caller
            }

            t_keyWork += keyRanges.Count - top.KeyBase;
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
            t_keyWork += keyRanges.Count - top.KeyBase;
            for (int i = top.KeyBase; i < keyRanges.Count; i++)
            {
                var (start, length) = keyRanges[i];
                top.Keys.Add(Encoding.UTF8.GetString(json.Slice(start, length)));
            }
        }

        t_keyWork++;
        top.Key = reader.GetString()!;
        return !top.Keys.Add(top.Key);
    }

    /// <summary>A key as text (unescaped) from its raw bytes in <paramref name="json"/>; only paths need it.</summary>
    private static string KeyText(ReadOnlySpan<byte> json, int start, int length)
    {
        var raw = json.Slice(start, length);
        if (raw.IndexOf((byte)'\\') < 0)
        {
            return Encoding.UTF8.GetString(raw);
        }

        // An escaped key: read it back as a JSON string (its raw text decoded as the path shows it, then unescaped).
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes("\"" + Encoding.UTF8.GetString(raw) + "\""));
        reader.Read();
        return reader.GetString()!;
    }

    /// <summary>The path of the value just read: its object's current key, or its index in the array.</summary>
    private static string Where(List<Frame> frames, ReadOnlySpan<byte> json, int index) =>
        frames.Count > 0 && !frames[^1].IsObject ? Path(frames, json) + $"[{index}]" : Path(frames, json);

    /// <summary>The JSON path of the current place: every open container's place, then the current key of the innermost object.</summary>
    private static string Path(List<Frame> frames, ReadOnlySpan<byte> json)
    {
        var sb = new StringBuilder("$");
        foreach (ref var frame in CollectionsMarshal.AsSpan(frames))
        {
            if (frame.ParentKeyStart >= 0)
            {
                sb.Append(Member(frame.ParentKey ??= KeyText(json, frame.ParentKeyStart, frame.ParentKeyLength)));
            }
            else if (frame.ParentIndex >= 0)
            {
                sb.Append($"[{frame.ParentIndex}]");
            }
        }

        if (frames.Count > 0 && frames[^1].IsObject && frames[^1].KeyStart > 0)
        {
            ref var top = ref CollectionsMarshal.AsSpan(frames)[^1];
            sb.Append(Member(top.Key ??= KeyText(json, top.KeyStart, top.KeyLength)));
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
