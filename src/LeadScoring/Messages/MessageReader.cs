using System.Text.Json;

namespace LeadScoring.Messages;

/// <summary>One message read from an input, with where it came from.</summary>
/// <param name="Line">The 1-based line of the input where the message (or its batch document) starts.</param>
/// <param name="BatchIndex">The index in <c>{"batch": [...]}</c>, or -1 for a JSON Lines message.</param>
/// <param name="Result">The parsed message, or why it was rejected.</param>
public readonly record struct MessageRecord(long Line, int BatchIndex, MessageParseResult Result)
{
    /// <summary>The place in plain words: <c>line 12</c> or <c>line 1, $.batch[3]</c>.</summary>
    public string Location => BatchIndex < 0 ? $"line {Line}" : $"line {Line}, $.batch[{BatchIndex}]";
}

/// <summary>
/// Reads messages from JSON Lines (one message per line, streamed: memory does not grow with the input) or from
/// <c>{"batch": [...]}</c> documents (a line holding a whole batch, or a pretty-printed batch file).
/// </summary>
public static class MessageReader
{
    /// <summary>Largest batch document accepted, in bytes (256 MiB).</summary>
    public const int MaxBatchBytes = 256 * 1024 * 1024;

    /// <summary>Reads every message of <paramref name="stream"/>; bad input yields rejected records, never an exception.</summary>
    public static IEnumerable<MessageRecord> Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var lines = new LineSplitter(stream);
        long lineNo = 0;
        while (lines.Next(out var line))
        {
            lineNo++;
            var span = Trim(line.Span);
            if (span.IsEmpty)
            {
                continue;
            }

            if (lineNo == 1 || span[0] == (byte)'{')
            {
                // A line that is only "{" (or does not close) starts a pretty-printed document: read it whole.
                if (lineNo == 1 && span[0] == (byte)'{' && !IsCompleteJson(span))
                {
                    foreach (var r in ReadDocument(line, lines, lineNo))
                    {
                        yield return r;
                    }

                    yield break;
                }
            }

            if (TryBatch(span, lineNo, out var batch))
            {
                foreach (var r in batch)
                {
                    yield return r;
                }

                continue;
            }

            yield return new MessageRecord(lineNo, -1, MessageParser.Parse(span));
        }
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s)
    {
        if (s.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            s = s[3..];
        }

        return s.Trim((ReadOnlySpan<byte>)[(byte)' ', (byte)'\t', (byte)'\r']);
    }

    private static bool IsCompleteJson(ReadOnlySpan<byte> s)
    {
        var reader = new Utf8JsonReader(s, new JsonReaderOptions { MaxDepth = 64 });
        try
        {
            return reader.Read() && reader.TrySkip() && !reader.Read();
        }
        catch (JsonException)
        {
            // Malformed within the line: it is a (bad) JSON Lines message unless it is cut short.
            return reader.BytesConsumed < s.Length;
        }
    }

    private static bool TryBatch(ReadOnlySpan<byte> span, long lineNo, out List<MessageRecord> records)
    {
        records = [];
        // Cheap test first: only an object whose text mentions "batch" can be a batch.
        if (span.IndexOf("\"batch\""u8) < 0)
        {
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(span.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object || doc.RootElement.TryGetProperty("type", out _) ||
                !doc.RootElement.TryGetProperty("batch", out var batch))
            {
                return false;
            }

            records = Batch(batch, lineNo);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static List<MessageRecord> Batch(JsonElement batch, long lineNo)
    {
        var records = new List<MessageRecord>();
        if (batch.ValueKind != JsonValueKind.Array)
        {
            records.Add(new MessageRecord(lineNo, -1, MessageParseResult.Reject("'batch' must be an array of messages")));
            return records;
        }

        int i = 0;
        foreach (var item in batch.EnumerateArray())
        {
            var raw = System.Text.Encoding.UTF8.GetBytes(item.GetRawText());
            records.Add(new MessageRecord(lineNo, i++, MessageParser.Parse(item, raw)));
        }

        return records;
    }

    private static IEnumerable<MessageRecord> ReadDocument(ReadOnlyMemory<byte> first, LineSplitter lines, long lineNo)
    {
        using var buffer = new MemoryStream();
        buffer.Write(first.Span);
        buffer.WriteByte((byte)'\n');
        bool tooLarge = false;
        while (lines.Next(out var line))
        {
            buffer.Write(line.Span);
            buffer.WriteByte((byte)'\n');
            if (buffer.Length > MaxBatchBytes)
            {
                tooLarge = true;
                break;
            }
        }

        if (tooLarge)
        {
            return [new MessageRecord(lineNo, -1, MessageParseResult.Reject($"the batch document is larger than {MaxBatchBytes} bytes"))];
        }

        try
        {
            using var doc = JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
            if (doc.RootElement.ValueKind == JsonValueKind.Object && !doc.RootElement.TryGetProperty("type", out _) &&
                doc.RootElement.TryGetProperty("batch", out var batch))
            {
                return Batch(batch, lineNo);
            }

            var raw = System.Text.Encoding.UTF8.GetBytes(doc.RootElement.GetRawText());
            return [new MessageRecord(lineNo, -1, MessageParser.Parse(doc.RootElement, raw))];
        }
        catch (JsonException ex)
        {
            long at = lineNo + (ex.LineNumber ?? 0);
            return [new MessageRecord(at, -1, MessageParseResult.Reject("not valid JSON: " + MessageParser.ShortJsonMessage(ex)))];
        }
    }

    /// <summary>Splits a stream into lines without decoding them; a yielded line is valid until the next call.</summary>
    private sealed class LineSplitter(Stream stream)
    {
        private byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;
        private bool _eof;

        public bool Next(out ReadOnlyMemory<byte> line)
        {
            while (true)
            {
                int nl = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (nl >= 0)
                {
                    line = _buffer.AsMemory(_start, nl - _start);
                    _start = nl + 1;
                    return true;
                }

                if (_eof)
                {
                    if (_start < _end)
                    {
                        line = _buffer.AsMemory(_start, _end - _start);
                        _start = _end;
                        return true;
                    }

                    line = default;
                    return false;
                }

                // Compact, grow if a single line fills the buffer, then read more.
                if (_start > 0)
                {
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }

                if (_end == _buffer.Length)
                {
                    if (_buffer.Length >= MaxBatchBytes)
                    {
                        // A line this long is not a message: hand it over cut, to be rejected.
                        line = _buffer.AsMemory(0, _end);
                        _start = _end = 0;
                        return true;
                    }

                    Array.Resize(ref _buffer, _buffer.Length * 2);
                }

                int read = stream.Read(_buffer, _end, _buffer.Length - _end);
                if (read == 0)
                {
                    _eof = true;
                }

                _end += read;
            }
        }
    }
}
