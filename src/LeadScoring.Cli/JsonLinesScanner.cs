using System.Buffers;
using LeadScoring.Messages;

namespace LeadScoring.Cli;

/// <summary>
/// Splits a stream of JSON Lines into lines without decoding them, over one buffer rented from
/// <see cref="ArrayPool{T}.Shared"/>: memory stays the same whatever the input's size. A line longer than
/// <see cref="MessageParser.MaxMessageBytes"/> is not a message: it is handed over as <c>tooLong</c> (without its
/// bytes) and skipped to its end. Each line is trimmed of spaces, tabs and a final <c>\r</c>, the first also of a
/// UTF-8 byte order mark; blank lines are skipped (they still count in the line numbers).
/// </summary>
internal sealed class JsonLinesScanner : IDisposable
{
    /// <summary>Room for the longest accepted line (and its <c>\r</c>) plus a large read.</summary>
    private const int BufferSize = 4 * 1024 * 1024;

    private readonly Stream _stream;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private bool _eof;
    private bool _skipping;

    public JsonLinesScanner(Stream stream)
    {
        _stream = stream;
        _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    }

    /// <summary>The 1-based number of the line last handed over.</summary>
    public long LineNumber { get; private set; }

    /// <summary>The size of the rented buffer, in bytes.</summary>
    public int BufferBytes => _buffer.Length;

    /// <summary>
    /// The next non-blank line; <paramref name="tooLong"/> when it is longer than
    /// <see cref="MessageParser.MaxMessageBytes"/> (then <paramref name="line"/> is empty). False at the end.
    /// The span is valid until the next call.
    /// </summary>
    public bool Next(out ReadOnlySpan<byte> line, out bool tooLong)
    {
        while (true)
        {
            int nl = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (nl >= 0)
            {
                int from = _start;
                _start += nl + 1;
                if (_skipping)
                {
                    // The end of a line already handed over as too long.
                    _skipping = false;
                    continue;
                }

                LineNumber++;
                if (nl > MessageParser.MaxMessageBytes + 1)
                {
                    line = default;
                    tooLong = true;
                    return true;
                }

                line = Trim(_buffer.AsSpan(from, nl));
                if (line.IsEmpty)
                {
                    continue;
                }

                tooLong = false;
                return true;
            }

            int pending = _end - _start;
            if (!_skipping && pending > MessageParser.MaxMessageBytes + 1)
            {
                // Too long already: hand it over now and drop the rest of it as it comes.
                LineNumber++;
                _skipping = true;
                _start = _end = 0;
                line = default;
                tooLong = true;
                return true;
            }

            if (_eof)
            {
                _start = _end;
                if (pending > 0 && !_skipping)
                {
                    // A last line without a final line break.
                    LineNumber++;
                    line = Trim(_buffer.AsSpan(_end - pending, pending));
                    if (!line.IsEmpty)
                    {
                        tooLong = false;
                        return true;
                    }
                }

                line = default;
                tooLong = false;
                return false;
            }

            if (_skipping)
            {
                _start = _end = 0;
            }
            else if (_start > 0)
            {
                // Keep the unfinished line: move it to the front (it is short, except for a long message).
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
                _start = 0;
                _end = pending;
            }

            int read = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (read == 0)
            {
                _eof = true;
            }

            _end += read;
        }
    }

    private ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s)
    {
        if (LineNumber == 1 && s.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            s = s[3..];
        }

        return s.Trim((ReadOnlySpan<byte>)[(byte)' ', (byte)'\t', (byte)'\r']);
    }

    /// <summary>Returns the buffer to the pool (the stream is the caller's).</summary>
    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _start = _end = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
