using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using LeadScoring.Messages;

namespace LeadScoring.Stores;

/// <summary>
/// A batch's messages as JSON Lines in one UTF-8 buffer, each as <see cref="LeadMessage.ToJson"/> writes it, kept by a
/// store from commit to commit (a batch's is hundreds of kilobytes: no large object per commit, no string per message).
/// SQLite and PostgreSQL store the whole text as one log row. JSON escapes every control character, so a line never
/// holds a line break, nor the U+0000 or U+0001 that <c>PgText</c> escapes.
/// </summary>
internal sealed class MessageJsonLines
{
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private readonly List<int> _ends = [];
    private readonly Utf8JsonWriter _writer;

    public MessageJsonLines() =>
        _writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    /// <summary>How many messages are written.</summary>
    public int Count => _ends.Count;

    /// <summary>Every message, one per line (no line break after the last).</summary>
    public ReadOnlySpan<byte> Lines => _buffer.WrittenSpan;

    /// <summary><see cref="Lines"/> as memory, valid until the next <see cref="Write"/> or <see cref="Clear"/>.</summary>
    public ReadOnlyMemory<byte> LinesMemory => _buffer.WrittenMemory;

    /// <summary>The JSON of message <paramref name="index"/>, without its line break.</summary>
    public ReadOnlyMemory<byte> this[int index]
    {
        get
        {
            int start = index == 0 ? 0 : _ends[index - 1] + 1;
            return _buffer.WrittenMemory[start.._ends[index]];
        }
    }

    /// <summary>Appends each of <paramref name="messages"/> as a line.</summary>
    public void Write(IReadOnlyList<LeadMessage> messages)
    {
        for (int i = 0; i < messages.Count; i++)
        {
            if (_ends.Count > 0)
            {
                _buffer.Write("\n"u8);
            }

            _writer.Reset(_buffer);
            messages[i].WriteJson(_writer);
            _writer.Flush();
            _ends.Add(_buffer.WrittenCount);
        }
    }

    /// <summary>Empties the buffer for the next commit; false when it grew past 4 MiB (a large batch's is not kept).</summary>
    public bool Clear()
    {
        _buffer.ResetWrittenCount();
        _ends.Clear();
        return _buffer.Capacity <= 4 << 20;
    }

    /// <summary>
    /// A stored message was accepted once, maybe within limits raised by its source: it is read back within the widest
    /// limits, never refused for a limit (issue 14).
    /// </summary>
    private static readonly MessageLimits ReadBackLimits = new() { MaxDepth = MessageLimits.DepthCeiling, MaxKeys = int.MaxValue, MaxStringBytes = int.MaxValue };

    /// <summary>
    /// The messages of stored JSON Lines text (a row of a message log, a journal); blank lines are skipped. Only U+000A
    /// ends a line (a U+000D before it is dropped), not the other characters <c>EnumerateLines</c> would split at
    /// (U+0085, U+2028, U+2029, form feed): JSON may hold some of them unescaped in a string.
    /// </summary>
    /// <param name="lines">The text.</param>
    /// <param name="where">Where the text was stored, for the error (a log row, a lead's journal).</param>
    /// <exception cref="InvalidDataException">A line is not a message the parser accepts: the stored text was changed.</exception>
    public static List<LeadMessage> Parse(string lines, string where)
    {
        var messages = new List<LeadMessage>();
        byte[] utf8 = [];
        var rest = lines.AsSpan();
        while (!rest.IsEmpty)
        {
            int end = rest.IndexOf('\n');
            var line = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[(end + 1)..];
            if (line.Length > 0 && line[^1] == '\r')
            {
                line = line[..^1];
            }

            if (line.IsEmpty)
            {
                continue;
            }

            int length = System.Text.Encoding.UTF8.GetByteCount(line);
            if (utf8.Length < length)
            {
                utf8 = new byte[Math.Max(length, utf8.Length * 2)];
            }

            System.Text.Encoding.UTF8.GetBytes(line, utf8);
            var result = MessageParser.Parse(utf8.AsSpan(0, length), ReadBackLimits);
            messages.Add(result.Message
                ?? throw new InvalidDataException($"Lead store: stored message {messages.Count + 1} of {where} cannot be read back ({result.Error ?? "ignored type " + result.IgnoredType})."));
        }

        return messages;
    }
}
