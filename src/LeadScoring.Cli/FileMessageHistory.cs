using LeadScoring.Engine;
using LeadScoring.Messages;
using Microsoft.Win32.SafeHandles;

namespace LeadScoring.Cli;

/// <summary>
/// The command-line tool's <see cref="MessageHistory"/>: instead of the parsed messages, it keeps where each counted
/// message is in the file being scored (its line, or its index in a <c>{"batch": [...]}</c> document) and its
/// 8 bytes a message (the engine checks that what is read back is the message it kept). A message is read back from the file and parsed again only when the engine needs it:
/// to replay a lead after a late message or a merge, or to confirm a duplicate. Messages of batch documents, and every
/// message of standard input, are kept parsed (they cannot be read back by line).
/// </summary>
internal sealed class FileMessageHistory : MessageHistory, IDisposable
{
    private readonly SafeFileHandle _file;
    private readonly Dictionary<long, LeadMessage> _parsed = [];
    private long[][] _lines = new long[16][];
    private long _count;
    private long[]? _lineStarts;
    private byte[] _buffer = new byte[4096];

    public FileMessageHistory(string path)
    {
        _file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
    }

    /// <summary>
    /// Where the messages of a batch about to be applied come from, in order (line, 1-based, and index in a batch
    /// document or -1): the engine adds the ones it counts, in the same order, and each is matched to its place by
    /// reference (the others are passed over).
    /// </summary>
    private readonly List<(LeadMessage Message, long Line, int BatchIndex)> _expected = [];
    private int _nextExpected;

    /// <summary>Notes where a message of the next batch comes from, before the batch is applied.</summary>
    public void Expect(LeadMessage message, long line, int batchIndex) => _expected.Add((message, line, batchIndex));

    /// <summary>Forgets the batch's places, once it is applied.</summary>
    public void ClearExpected()
    {
        _expected.Clear();
        _nextExpected = 0;
    }

    public override long Add(LeadMessage message)
    {
        while (_nextExpected < _expected.Count && !ReferenceEquals(_expected[_nextExpected].Message, message))
        {
            _nextExpected++;
        }

        if (_nextExpected == _expected.Count)
        {
            throw new InvalidOperationException($"The engine kept message '{message.MessageId}', which is not among the batch's messages after the last one kept (Expect each message before applying it).");
        }

        var (_, line, batchIndex) = _expected[_nextExpected++];
        long handle = _count++;
        int chunk = (int)(handle >> 16);
        if (chunk == _lines.Length)
        {
            Array.Resize(ref _lines, _lines.Length * 2);
        }

        (_lines[chunk] ??= new long[1 << 16])[handle & 0xFFFF] = line;
        if (batchIndex >= 0)
        {
            _parsed[handle] = message;
        }

        return handle;
    }

    public override LeadMessage Get(long handle)
    {
        if (_parsed.TryGetValue(handle, out var kept))
        {
            return kept;
        }

        var starts = _lineStarts ??= IndexLines();
        long line = _lines[handle >> 16][handle & 0xFFFF];
        if (line < 1 || line > starts.Length - 1)
        {
            throw Changed(line);
        }

        long start = starts[line - 1];
        int length = (int)(starts[line] - start);
        if (_buffer.Length < length)
        {
            _buffer = new byte[Math.Max(length, _buffer.Length * 2)];
        }

        var bytes = _buffer.AsSpan(0, length);
        if (RandomAccess.Read(_file, bytes, start) != length)
        {
            throw Changed(line);
        }

        var parsed = MessageParser.Parse(Trim(bytes));
        return parsed.Message ?? throw Changed(line);
    }

    public void Dispose() => _file.Dispose();

    internal static InvalidDataException Changed(long line) =>
        new($"line {line} of the message file no longer holds the message read there: the file changed while it was scored");

    /// <summary>The byte offset where each line starts, and one past the end: one pass over the file, on first need.</summary>
    private long[] IndexLines()
    {
        var starts = new List<long>(1024) { 0 };
        var chunk = new byte[1 << 20];
        long offset = 0;
        int read;
        while ((read = RandomAccess.Read(_file, chunk, offset)) > 0)
        {
            var span = chunk.AsSpan(0, read);
            int at = 0, nl;
            while ((nl = span[at..].IndexOf((byte)'\n')) >= 0)
            {
                at += nl + 1;
                starts.Add(offset + at);
            }

            offset += read;
        }

        if (starts[^1] != offset)
        {
            starts.Add(offset);
        }

        return [.. starts];
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s)
    {
        if (s.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            s = s[3..];
        }

        return s.Trim((ReadOnlySpan<byte>)[(byte)' ', (byte)'\t', (byte)'\r', (byte)'\n']);
    }
}
