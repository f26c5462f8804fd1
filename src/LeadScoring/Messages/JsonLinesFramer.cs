using System.Text.Json;

namespace LeadScoring.Messages;

/// <summary>What <see cref="JsonLinesFramer.MoveNext"/> found.</summary>
public enum JsonFrameKind
{
    /// <summary>One physical line, trimmed (<see cref="JsonLinesFramer.Current"/>).</summary>
    Line,

    /// <summary>A line longer than the framer's limit: skipped to its end, <see cref="JsonLinesFramer.Current"/> is empty.</summary>
    TooLong,

    /// <summary>
    /// The input is one multi-line (pretty-printed) JSON document: <see cref="JsonLinesFramer.Current"/> holds all of it
    /// (its line breaks kept). Nothing follows it.
    /// </summary>
    Document,

    /// <summary>
    /// The input is not JSON Lines (a JSON array, or a document larger than the framer's limit): said once,
    /// with <see cref="JsonLinesFramer.Reason"/>; nothing follows it.
    /// </summary>
    NotJsonLines,
}

/// <summary>
/// The one JSON Lines framer: splits a stream into physical lines (<c>\n</c>) without decoding them, over one buffer
/// that grows only to the longest line accepted. Every line keeps its physical 1-based number (blank lines count);
/// each is trimmed of spaces, tabs, a final <c>\r</c> and a UTF-8 byte order mark; blank lines are skipped.
/// A bad line costs exactly that line: a line cut short is handed over as it is (to be rejected by the parser), a line
/// longer than the limit is reported once as <see cref="JsonFrameKind.TooLong"/> and skipped to its end.
/// The first line also tells the format: a JSON array, or a pretty-printed document whose first line does not close
/// (and whose next line is not a message of its own), is reported once instead of line by line.
/// </summary>
/// <remarks>Not thread-safe. <see cref="Current"/> is valid until the next call of <see cref="MoveNext"/>.</remarks>
public sealed class JsonLinesFramer
{
    /// <summary>What a reader says when the input is in no format it reads.</summary>
    public const string ExpectedFormat = "expected JSON Lines (one message object per line) or one {\"batch\": [...]} object";

    private static readonly byte[] Bom = [0xEF, 0xBB, 0xBF];

    private readonly Stream _stream;
    private readonly int _maxLineBytes;
    private readonly int _maxDocumentBytes;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private bool _eof;
    private bool _done;
    private bool _firstSeen;
    private long _consumed;
    private long _lineNumber;
    private int _currentStart;
    private int _currentLength;
    private byte[]? _held;
    private int _heldLength;
    private byte[]? _stashed;
    private long _stashedLine;
    private long _stashedConsumed;
    private JsonFrameKind _stashedKind;

    /// <summary>Creates a framer over <paramref name="stream"/> (the stream stays the caller's).</summary>
    /// <param name="stream">The input, read forward only.</param>
    /// <param name="maxLineBytes">The longest line handed over, in bytes; a longer one is <see cref="JsonFrameKind.TooLong"/>.</param>
    /// <param name="maxDocumentBytes">The largest pretty-printed document read whole; 0 reads none (the lines of one are framed as lines).</param>
    /// <param name="firstLineNumber">The number of the line before the stream's first byte (a reader that resumes in the middle of a file).</param>
    public JsonLinesFramer(Stream stream, int maxLineBytes = MessageParser.MaxMessageBytes, int maxDocumentBytes = 0, long firstLineNumber = 0)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxDocumentBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(firstLineNumber);
        _stream = stream;
        _maxLineBytes = maxLineBytes;
        _maxDocumentBytes = maxDocumentBytes;
        _lineNumber = firstLineNumber;
        _firstSeen = firstLineNumber > 0;
    }

    /// <summary>
    /// Whether a last line without a final line break is handed over at the end of the stream (default true). A
    /// reader that follows a file being written sets it false, and reads that line once the file is closed or idle.
    /// </summary>
    public bool ReadUnterminatedLastLine { get; init; } = true;

    /// <summary>The 1-based physical line number of <see cref="Current"/> (where a document starts, for a document).</summary>
    public long LineNumber { get; private set; }

    /// <summary>What the last successful <see cref="MoveNext"/> found.</summary>
    public JsonFrameKind Kind { get; private set; }

    /// <summary>Why the input is not read as JSON Lines, for <see cref="JsonFrameKind.NotJsonLines"/> and <see cref="JsonFrameKind.TooLong"/>.</summary>
    public string? Reason { get; private set; }

    /// <summary>The bytes of the stream consumed through the end of <see cref="Current"/> and its line break.</summary>
    public long BytesConsumed { get; private set; }

    /// <summary>The bytes of an unfinished last line left unread at the end (<see cref="ReadUnterminatedLastLine"/> false).</summary>
    public int UnterminatedBytes { get; private set; }

    /// <summary>The line, or the document, found by the last <see cref="MoveNext"/>.</summary>
    public ReadOnlySpan<byte> Current => _held is not null ? _held.AsSpan(0, _heldLength) : _buffer.AsSpan(_currentStart, _currentLength);

    /// <summary>Moves to the next non-blank line (or document, or format error); false at the end.</summary>
    public bool MoveNext()
    {
        _held = null;
        Reason = null;
        if (_stashed is not null)
        {
            (_held, _heldLength, LineNumber, BytesConsumed, Kind) = (_stashed, _stashed.Length, _stashedLine, _stashedConsumed, _stashedKind);
            _stashed = null;
            if (Kind == JsonFrameKind.TooLong)
            {
                Reason = $"the line is longer than {_maxLineBytes} bytes";
            }

            return true;
        }

        while (!_done)
        {
            if (!NextPhysical(out int from, out int length, out bool tooLong))
            {
                _done = true;
                return false;
            }

            LineNumber = _lineNumber;
            BytesConsumed = _consumed;
            if (tooLong)
            {
                Kind = JsonFrameKind.TooLong;
                Reason = $"the line is longer than {_maxLineBytes} bytes";
                _currentLength = 0;
                _firstSeen = true;
                return true;
            }

            var line = Trim(_buffer.AsSpan(from, length), out int offset);
            if (line.IsEmpty)
            {
                continue;
            }

            _currentStart = from + offset;
            _currentLength = line.Length;
            Kind = JsonFrameKind.Line;
            if (!_firstSeen)
            {
                _firstSeen = true;
                if (line[0] == (byte)'[')
                {
                    _done = true;
                    Kind = JsonFrameKind.NotJsonLines;
                    Reason = "the input is a JSON array: " + ExpectedFormat;
                    return true;
                }

                if (_maxDocumentBytes > 0 && line[0] == (byte)'{' && IsCutShort(line))
                {
                    return FirstLineCutShort(from, length);
                }

                if (_maxDocumentBytes == 0 && line.Length == 1 && line[0] == (byte)'{')
                {
                    // A reader of lines only: a first line that is a lone "{" opens a pretty-printed document.
                    _done = true;
                    Kind = JsonFrameKind.NotJsonLines;
                    Reason = "the input is a multi-line (pretty-printed) JSON document: expected JSON Lines (one message object per line)";
                    return true;
                }
            }

            return true;
        }

        return false;
    }

    /// <summary>
    /// The first line opens a JSON value that does not close on it: a pretty-printed document, unless the next line is
    /// a whole message of its own (then the first line was merely cut, and costs only itself).
    /// </summary>
    private bool FirstLineCutShort(int from, int length)
    {
        var document = new MemoryStream();
        document.Write(_buffer, from, length);
        document.WriteByte((byte)'\n');
        byte[] first = Current.ToArray();
        long firstLine = LineNumber, firstConsumed = BytesConsumed;
        while (NextPhysical(out int f, out int l, out bool tooLong))
        {
            if (tooLong)
            {
                (_stashed, _stashedLine, _stashedConsumed, _stashedKind) = ([], _lineNumber, _consumed, JsonFrameKind.TooLong);
                break;
            }

            var next = Trim(_buffer.AsSpan(f, l), out _);
            if (!next.IsEmpty && IsWholeObject(next))
            {
                // JSON Lines: hand over the cut first line now and this one next.
                (_stashed, _stashedLine, _stashedConsumed, _stashedKind) = (next.ToArray(), _lineNumber, _consumed, JsonFrameKind.Line);
                break;
            }

            document.Write(_buffer, f, l);
            document.WriteByte((byte)'\n');
            if (!next.IsEmpty)
            {
                return ReadDocument(document, firstLine);
            }
        }

        (_held, _heldLength, LineNumber, BytesConsumed, Kind) = (first, first.Length, firstLine, firstConsumed, JsonFrameKind.Line);
        return true;
    }

    private bool ReadDocument(MemoryStream document, long firstLine)
    {
        _done = true;
        LineNumber = firstLine;
        while (document.Length <= _maxDocumentBytes)
        {
            if (_start < _end)
            {
                document.Write(_buffer, _start, _end - _start);
                _consumed += _end - _start;
                _start = _end;
            }

            if (_eof)
            {
                break;
            }

            Fill();
        }

        BytesConsumed = _consumed;
        if (document.Length > _maxDocumentBytes)
        {
            Kind = JsonFrameKind.NotJsonLines;
            Reason = $"the input is a multi-line JSON document larger than {_maxDocumentBytes} bytes: " + ExpectedFormat;
            return true;
        }

        Kind = JsonFrameKind.Document;
        _held = document.GetBuffer();
        _heldLength = (int)document.Length;
        return true;
    }

    /// <summary>The next physical line (without its <c>\n</c>), counting it; <paramref name="tooLong"/> when over the limit.</summary>
    private bool NextPhysical(out int from, out int length, out bool tooLong)
    {
        bool skipping = false;
        while (true)
        {
            int nl = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (nl >= 0)
            {
                from = _start;
                length = nl;
                _start += nl + 1;
                _consumed += nl + 1;
                if (skipping)
                {
                    from = length = 0;
                    tooLong = true;
                    return true;
                }

                _lineNumber++;
                tooLong = length > _maxLineBytes + 1; // + 1: room for a final \r
                return true;
            }

            int pending = _end - _start;
            if (!skipping && pending > _maxLineBytes + 1)
            {
                // Too long already: count it now and drop the rest of it as it comes.
                skipping = true;
                _lineNumber++;
            }

            if (skipping)
            {
                _consumed += pending;
                _start = _end = 0;
            }

            if (_eof)
            {
                tooLong = skipping;
                from = _start;
                length = pending;
                if (skipping)
                {
                    from = length = 0;
                    return true;
                }

                if (pending == 0)
                {
                    return false;
                }

                if (!ReadUnterminatedLastLine)
                {
                    UnterminatedBytes = pending;
                    return false;
                }

                _start = _end;
                _consumed += pending;
                _lineNumber++;
                return true;
            }

            Fill();
        }
    }

    private void Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, (int)Math.Min((long)_buffer.Length * 2, Array.MaxLength));
        }

        int read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0)
        {
            _eof = true;
        }

        _end += read;
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s, out int offset)
    {
        int before = s.Length;
        s = s.TrimStart((ReadOnlySpan<byte>)[(byte)' ', (byte)'\t']);
        if (s.StartsWith(Bom))
        {
            s = s[3..];
        }

        s = s.TrimStart((ReadOnlySpan<byte>)[(byte)' ', (byte)'\t']);
        offset = before - s.Length;
        return s.TrimEnd((ReadOnlySpan<byte>)[(byte)' ', (byte)'\t', (byte)'\r']);
    }

    /// <summary>Whether <paramref name="s"/> opens a JSON value that is still open at its end (not merely malformed).</summary>
    private static bool IsCutShort(ReadOnlySpan<byte> s)
    {
        var reader = new Utf8JsonReader(s, isFinalBlock: false, new JsonReaderState(new JsonReaderOptions { MaxDepth = 1024 }));
        try
        {
            return !reader.Read() || (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip());
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Whether <paramref name="s"/> is exactly one JSON object and nothing else.</summary>
    private static bool IsWholeObject(ReadOnlySpan<byte> s)
    {
        if (s[0] != (byte)'{')
        {
            return false;
        }

        var reader = new Utf8JsonReader(s, new JsonReaderOptions { MaxDepth = 1024 });
        try
        {
            return reader.Read() && reader.TrySkip() && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
