using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using LeadScoring.Messages;

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
}

/// <summary>
/// Reads JSON Lines files from a folder in file-name order (ordinal), and follows new lines and new files.
/// Only complete lines (ending in a line break) are read, so a file being written is never read half-way.
/// The checkpoint is the file name, byte offset and line number after the last line read.
/// </summary>
public sealed class JsonLinesFolderSource : ILeadMessageSource
{
    private readonly JsonLinesFolderSourceOptions _options;
    private readonly TimeProvider _time;

    /// <summary>Creates a source over <paramref name="options"/>'s folder.</summary>
    public JsonLinesFolderSource(JsonLinesFolderSourceOptions options, TimeProvider? time = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        if (string.IsNullOrWhiteSpace(options.Folder))
        {
            throw new ArgumentException("JsonLinesFolderSourceOptions.Folder is required.", nameof(options));
        }

        _time = time ?? TimeProvider.System;
        Name = options.Name ?? "folder:" + Path.GetFullPath(options.Folder);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public async IAsyncEnumerable<SourceRecord> ReadAsync(string? checkpoint, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (file, offset, line) = Parse(checkpoint);
        while (!cancellationToken.IsCancellationRequested)
        {
            bool progressed = false;
            var files = Directory.Exists(_options.Folder)
                ? Directory.GetFiles(_options.Folder, _options.Pattern).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList()
                : [];
            foreach (var name in files)
            {
                if (file is not null && string.CompareOrdinal(name, file) < 0)
                {
                    continue;
                }

                if (name != file)
                {
                    (file, offset, line) = (name, 0, 0);
                }

                using var stream = new FileStream(Path.Combine(_options.Folder, name!), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                if (stream.Length <= offset)
                {
                    continue;
                }

                stream.Seek(offset, SeekOrigin.Begin);
                var buffer = new byte[64 * 1024];
                var pending = new MemoryStream();
                int read;
                while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    int start = 0;
                    for (int i = 0; i < read; i++)
                    {
                        if (buffer[i] != (byte)'\n')
                        {
                            continue;
                        }

                        pending.Write(buffer, start, i - start);
                        start = i + 1;
                        byte[] bytes = pending.ToArray();
                        pending.SetLength(0);
                        offset += bytes.Length + 1;
                        line++;
                        var text = bytes.AsSpan().TrimEnd((byte)'\r');
                        if (text.Trim((byte)' ').IsEmpty)
                        {
                            continue;
                        }

                        progressed = true;
                        var result = MessageParser.Parse(text);
                        if (result.IsIgnored)
                        {
                            continue;
                        }

                        yield return new SourceRecord(result, Format(file!, offset, line), $"{file}: line {line}",
                            result.IsRejected ? Encoding.UTF8.GetString(text) : null);
                    }

                    pending.Write(buffer, start, read - start);
                }
            }

            if (!_options.Follow)
            {
                yield break;
            }

            if (!progressed)
            {
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

    private static string Format(string file, long offset, long line) =>
        string.Create(CultureInfo.InvariantCulture, $"{offset}:{line}:{file}");

    private static (string? File, long Offset, long Line) Parse(string? checkpoint)
    {
        if (string.IsNullOrEmpty(checkpoint))
        {
            return (null, 0, 0);
        }

        var parts = checkpoint.Split(':', 3);
        return parts.Length == 3 && long.TryParse(parts[0], CultureInfo.InvariantCulture, out long offset) && long.TryParse(parts[1], CultureInfo.InvariantCulture, out long line)
            ? (parts[2], offset, line)
            : throw new FormatException($"Not a folder-source checkpoint: '{checkpoint}'.");
    }
}
