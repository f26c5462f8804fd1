using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using LeadScoring.Messages;

namespace LeadScoring.Stores;

/// <summary>
/// A batch's messages as JSON Lines in one UTF-8 buffer, each as <see cref="LeadMessage.ToJson"/> writes it, kept by a
/// store from commit to commit (a batch's is hundreds of kilobytes: no large object per commit, no string per message).
/// SQLite stores the whole text as one log row, PostgreSQL each line as a row. JSON escapes every control character, so
/// a line never holds the U+0000 or U+0001 that <c>PgText</c> escapes.
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
}
