using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using LeadScoring.Messages;
using Microsoft.Extensions.Logging;

namespace LeadScoring.Hosting;

/// <summary>Options of <see cref="JsonLinesFolderSource"/>.</summary>
public sealed class JsonLinesFolderSourceOptions
{
    /// <summary>The folder to read. Required.</summary>
    public string Folder { get; set; } = "";

    /// <summary>Which files: a pattern for <see cref="Directory.GetFiles(string, string)"/>. Default <c>*.jsonl</c>.</summary>
    public string Pattern { get; set; } = "*.jsonl";

    /// <summary>Keep watching for new lines and new files after the end (default), or stop at the end.</summary>
    public bool Follow { get; set; } = true;

    /// <summary>How often to look for new lines while following. Default 250 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The source's name (its checkpoint key). Default <c>folder:</c> + the folder's full path.</summary>
    public string? Name { get; set; }

    /// <summary>
    /// How long a file must stay unchanged before its last line, written without a final line break, is read while
    /// following (a file that is still being written is never read half-way). Default 2 seconds.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The per-message limits (keys, depth, string length). Default <see cref="MessageLimits.Default"/>.</summary>
    public MessageLimits Limits { get; set; } = MessageLimits.Default;
}

/// <summary>
/// Reads JSON Lines files from a folder and follows new lines and new files, framed by the core's
/// <see cref="JsonLinesFramer"/> as the command-line tool frames them (physical line numbers, a byte order mark on
/// any line, a bad line costs only itself, a JSON array is one rejection). Every file is tracked on its own, so a
/// file that arrives later is read whatever its name. While following, only complete lines are read, and the last
/// line of a file without a final line break once the file has been unchanged for
/// <see cref="JsonLinesFolderSourceOptions.IdleTimeout"/> (at once when not following).
/// The checkpoint records, per file, the byte offset and line number after the last line read.
/// </summary>
public sealed class JsonLinesFolderSource : ILeadMessageSource
{
    private const string Version2 = "v2";

    /// <summary>The most lines read from a file before they are handed over.</summary>
    private const int ChunkLines = 4096;

    private readonly JsonLinesFolderSourceOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger? _logger;

    /// <summary>Creates a source over <paramref name="options"/>'s folder; <paramref name="logger"/> is told what it skips or waits for.</summary>
    public JsonLinesFolderSource(JsonLinesFolderSourceOptions options, TimeProvider? time = null, ILogger? logger = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        if (string.IsNullOrWhiteSpace(options.Folder))
        {
            throw new ArgumentException("JsonLinesFolderSourceOptions.Folder is required.", nameof(options));
        }

        _time = time ?? TimeProvider.System;
        _logger = logger;
        Name = options.Name ?? "folder:" + Path.GetFullPath(options.Folder);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>Where one file stands.</summary>
    private sealed class FileState
    {
        public long Offset;
        public long Line;
        /// <summary>The last line read had no line break: a <c>\n</c> at <see cref="Offset"/> ends it, it is not a line.</summary>
        public bool Unterminated;
        public long SeenLength = -1;
        public DateTimeOffset SeenAt;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<SourceRecord> ReadAsync(string? checkpoint, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!Directory.Exists(_options.Folder))
        {
            throw new DirectoryNotFoundException($"The folder '{Path.GetFullPath(_options.Folder)}' of source {Name} does not exist.");
        }

        var (files, legacyBefore) = Parse(checkpoint);
        var chunk = new List<SourceRecord?>(ChunkLines);
        while (!cancellationToken.IsCancellationRequested)
        {
            bool progressed = false;
            var names = Directory.Exists(_options.Folder)
                ? Directory.GetFiles(_options.Folder, _options.Pattern).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal).ToList()
                : [];
            foreach (var gone in files.Keys.Except(names).ToList())
            {
                files.Remove(gone);
            }

            foreach (var name in names)
            {
                if (!files.TryGetValue(name, out var state))
                {
                    state = new FileState();
                    if (legacyBefore is not null && string.CompareOrdinal(name, legacyBefore) < 0)
                    {
                        // A checkpoint of the former format: the files before its file were read.
                        state.Offset = new FileInfo(Path.Combine(_options.Folder, name)).Length;
                    }

                    files[name] = state;
                }

                // Each file to its end before the next (in chunks, for bounded memory): files are read in name
                // order, so messages arrive in the order of the files, as with the command-line tool.
                List<SourceRecord?> records;
                do
                {
                    records = ReadFile(name, state, files, chunk, cancellationToken);
                    foreach (var record in records)
                    {
                        progressed = true;
                        if (record is { } r)
                        {
                            yield return r;
                        }
                    }
                }
                while (records.Count >= ChunkLines);
            }

            legacyBefore = null;
            if (!progressed)
            {
                if (!_options.Follow)
                {
                    yield break;
                }

                try
                {
                    await Task.Delay(_options.PollInterval, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    yield break;
                }
            }
        }
    }

    /// <summary>
    /// The records of one file from where it stands (a null item: progress without a record, e.g. an ignored type), in
    /// <paramref name="records"/>, emptied first: one list per reading, reused by every chunk (a chunk's records are
    /// handed out before the next is read).
    /// </summary>
    private List<SourceRecord?> ReadFile(string name, FileState state, Dictionary<string, FileState> files, List<SourceRecord?> records, CancellationToken cancellationToken)
    {
        string path = Path.Combine(_options.Folder, name);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return [];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _logger?.LogWarning("{File} cannot be read ({Reason}); trying again at the next poll.", path, ex.Message);
            return [];
        }

        using (stream)
        {
            long length = stream.Length;
            if (length < state.Offset)
            {
                _logger?.LogWarning("{File} is shorter than the {Offset} bytes already read: it was replaced or truncated; reading it again from its start.", path, state.Offset);
                (state.Offset, state.Line, state.Unterminated) = (0, 0, false);
            }

            if (length == state.Offset)
            {
                return [];
            }

            var now = _time.GetUtcNow();
            if (length != state.SeenLength)
            {
                (state.SeenLength, state.SeenAt) = (length, now);
            }

            stream.Seek(state.Offset, SeekOrigin.Begin);
            if (state.Unterminated)
            {
                // The line read last had no line break; a break that came later only ends it.
                int first = stream.ReadByte();
                if (first == (byte)'\n')
                {
                    state.Offset++;
                }
                else
                {
                    stream.Seek(state.Offset, SeekOrigin.Begin);
                }

                state.Unterminated = false;
            }

            bool idle = !_options.Follow || now - state.SeenAt >= _options.IdleTimeout;
            var framer = new JsonLinesFramer(stream, MessageParser.MaxMessageBytes, 0, state.Line) { ReadUnterminatedLastLine = idle };
            long start = state.Offset;
            var position = new FilePosition(Others(files, name), name);
            records.Clear();
            while (framer.MoveNext())
            {
                cancellationToken.ThrowIfCancellationRequested();
                state.Offset = start + framer.BytesConsumed;
                state.Line = framer.LineNumber;
                state.Unterminated = state.Offset == length && length > 0 && !EndsWithBreak(stream, length);
                switch (framer.Kind)
                {
                    case JsonFrameKind.Line:
                        var result = MessageParser.Parse(framer.Current, _options.Limits);
                        records.Add(result.IsIgnored ? null : new SourceRecord(result, position, state.Offset, state.Line, state.Unterminated, result.IsRejected ? Encoding.UTF8.GetString(framer.Current) : null));
                        break;
                    default:
                        if (framer.Kind == JsonFrameKind.NotJsonLines)
                        {
                            // Nothing more of this file is read: it is not JSON Lines.
                            state.Offset = length;
                            _logger?.LogWarning("{File}: {Reason}; the file is skipped.", path, framer.Reason);
                        }

                        records.Add(new SourceRecord(MessageParseResult.Reject(framer.Reason!), position, state.Offset, state.Line, state.Unterminated, null));
                        break;
                }

                // Bounded memory: hand over what was read every few thousand lines.
                if (records.Count >= ChunkLines)
                {
                    break;
                }
            }

            if (!idle && framer.UnterminatedBytes > 0 && records.Count == 0)
            {
                _logger?.LogDebug("{File}: its last line has no line break yet; it is read once the file is unchanged for {Idle}.", path, _options.IdleTimeout);
            }
            else if (idle && _options.Follow && state.Unterminated)
            {
                _logger?.LogInformation("{File}: read its last line, which has no final line break, after the file was unchanged for {Idle}.", path, _options.IdleTimeout);
            }

            return records;
        }
    }

    private static bool EndsWithBreak(FileStream stream, long length)
    {
        long at = stream.Position;
        stream.Seek(length - 1, SeekOrigin.Begin);
        bool nl = stream.ReadByte() == (byte)'\n';
        stream.Seek(at, SeekOrigin.Begin);
        return nl;
    }

    /// <summary>The checkpoint after a record: the other files' entries, then this file's, as one string.</summary>
    private static string Checkpoint(string others, string file, long offset, long line, bool unterminated) =>
        string.Create(CultureInfo.InvariantCulture, $"{others}{offset}:{line}{(unterminated ? "+" : "")}:{file}");

    private static string Entry(string file, FileState s) => Checkpoint("", file, s.Offset, s.Line, s.Unterminated);

    /// <summary>
    /// The records of one file read: the other files' checkpoint entries as they were when it began (they do not move
    /// while this file is read) and the file's name; a record's checkpoint and location are written out when read.
    /// </summary>
    private sealed class FilePosition(string others, string file) : RecordPosition
    {
        public override string Checkpoint(long offset, long line, bool unterminated) =>
            JsonLinesFolderSource.Checkpoint(others, file, offset, line, unterminated);

        public override string Location(long line) => string.Create(CultureInfo.InvariantCulture, $"{file}: line {line}");
    }

    private static string Others(Dictionary<string, FileState> files, string except)
    {
        var sb = new StringBuilder(Version2).Append('\n');
        foreach (var (name, state) in files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            if (name != except)
            {
                sb.Append(Entry(name, state)).Append('\n');
            }
        }

        return sb.ToString();
    }

    private static (Dictionary<string, FileState> Files, string? LegacyBefore) Parse(string? checkpoint)
    {
        var files = new Dictionary<string, FileState>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(checkpoint))
        {
            return (files, null);
        }

        bool v2 = checkpoint.StartsWith(Version2 + "\n", StringComparison.Ordinal);
        foreach (var entry in (v2 ? checkpoint[(Version2.Length + 1)..] : checkpoint).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = entry.Split(':', 3);
            string line = parts.Length == 3 ? parts[1].TrimEnd('+') : "";
            if (parts.Length != 3 || !long.TryParse(parts[0], CultureInfo.InvariantCulture, out long offset) || !long.TryParse(line, CultureInfo.InvariantCulture, out long lineNo))
            {
                throw new FormatException($"Not a folder-source checkpoint: '{checkpoint}'.");
            }

            files[parts[2]] = new FileState { Offset = offset, Line = lineNo, Unterminated = parts[1].EndsWith('+') };
        }

        return (files, v2 ? null : files.Keys.SingleOrDefault());
    }
}
