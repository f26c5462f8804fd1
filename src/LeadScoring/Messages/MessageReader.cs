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
/// <c>{"batch": [...]}</c> documents (a line holding a whole batch, or a pretty-printed batch file). Lines are framed
/// by <see cref="JsonLinesFramer"/> before they are parsed: a bad line costs exactly that line, with its physical line
/// number; a JSON array, or a pretty-printed document that is not a batch, is one rejection saying what is expected.
/// </summary>
public static class MessageReader
{
    /// <summary>Largest batch document accepted, in bytes (256 MiB); also the longest line framed.</summary>
    public const int MaxBatchBytes = 256 * 1024 * 1024;

    /// <summary>Reads every message of <paramref name="stream"/> within the default limits; bad input yields rejected records, never an exception.</summary>
    public static IEnumerable<MessageRecord> Read(Stream stream) => Read(stream, MessageLimits.Default);

    /// <summary>Reads every message of <paramref name="stream"/> within <paramref name="limits"/>; bad input yields rejected records, never an exception.</summary>
    public static IEnumerable<MessageRecord> Read(Stream stream, MessageLimits limits)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(limits);
        return ReadFramed(stream, limits);
    }

    private static IEnumerable<MessageRecord> ReadFramed(Stream stream, MessageLimits limits)
    {
        var framer = new JsonLinesFramer(stream, MaxBatchBytes, MaxBatchBytes);
        while (framer.MoveNext())
        {
            long lineNo = framer.LineNumber;
            switch (framer.Kind)
            {
                case JsonFrameKind.TooLong:
                case JsonFrameKind.NotJsonLines:
                    yield return new MessageRecord(lineNo, -1, MessageParseResult.Reject(framer.Reason!));
                    continue;
                case JsonFrameKind.Document:
                    foreach (var r in ReadDocument(framer.Current.ToArray(), lineNo, limits))
                    {
                        yield return r;
                    }

                    continue;
            }

            var records = Line(framer.Current, lineNo, limits);
            foreach (var r in records)
            {
                yield return r;
            }
        }
    }

    private static List<MessageRecord> Line(ReadOnlySpan<byte> span, long lineNo, MessageLimits limits) =>
        TryBatch(span, lineNo, limits, out var batch) ? batch : [new MessageRecord(lineNo, -1, MessageParser.Parse(span, limits))];

    private static bool TryBatch(ReadOnlySpan<byte> span, long lineNo, MessageLimits limits, out List<MessageRecord> records)
    {
        records = [];
        // Cheap test first: only a long object whose text mentions "batch" can be a batch.
        if (span.IndexOf("\"batch\""u8) < 0)
        {
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(span.ToArray(), new JsonDocumentOptions { MaxDepth = limits.MaxDepth + 2 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object || doc.RootElement.TryGetProperty("type", out _) ||
                !doc.RootElement.TryGetProperty("batch", out var batch))
            {
                return false;
            }

            records = Batch(batch, lineNo, limits);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static List<MessageRecord> Batch(JsonElement batch, long lineNo, MessageLimits limits)
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
#if NET9_0_OR_GREATER
            // The item's bytes as written, read by the one message parser.
            records.Add(new MessageRecord(lineNo, i++, MessageParser.Parse(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(item), limits)));
#else
            string text;
            try
            {
                text = item.GetRawText();
            }
            catch (InvalidOperationException ex)
            {
                // Found by fuzzing: text that is not valid UTF-8 cannot be copied out of the batch as a string.
                records.Add(new MessageRecord(lineNo, i++, MessageParseResult.Reject("a string is not valid Unicode: " + ex.Message)));
                continue;
            }

            records.Add(new MessageRecord(lineNo, i++, MessageParser.Parse(System.Text.Encoding.UTF8.GetBytes(text), limits)));
#endif
        }

        return records;
    }

    private static List<MessageRecord> ReadDocument(byte[] document, long lineNo, MessageLimits limits)
    {
        try
        {
            using var doc = JsonDocument.Parse(document, new JsonDocumentOptions { MaxDepth = limits.MaxDepth + 2 });
            if (doc.RootElement.ValueKind == JsonValueKind.Object && !doc.RootElement.TryGetProperty("type", out _) &&
                doc.RootElement.TryGetProperty("batch", out var batch))
            {
                return Batch(batch, lineNo, limits);
            }

            return [new MessageRecord(lineNo, -1, MessageParseResult.Reject("the input is a multi-line JSON document that is not a batch: " + JsonLinesFramer.ExpectedFormat))];
        }
        catch (JsonException ex)
        {
            long at = lineNo + (ex.LineNumber ?? 0);
            return [new MessageRecord(at, -1, MessageParseResult.Reject("not valid JSON: " + MessageParser.ShortJsonMessage(ex)))];
        }
    }
}
