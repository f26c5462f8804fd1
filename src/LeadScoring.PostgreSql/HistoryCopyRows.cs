using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using LeadScoring.Hosting;

namespace LeadScoring.PostgreSql;

/// <summary>
/// A commit's score history rows as the payload of one <c>COPY score_history (id, lead_id, at, score_names, score_values,
/// grade, stage, model_version, message_id) FROM STDIN (FORMAT BINARY)</c>: PostgreSQL's binary copy format, written in
/// one buffer before the transaction needs it (on another thread, while the commit's first statements run), so the
/// commit sends it in one write instead of nine calls per row. The rows' ids are drawn in the transaction: each row is
/// written with id 0 and <see cref="SetIds"/> fills them in. Kept by the store from commit to commit.
/// </summary>
internal sealed class HistoryCopyRows
{
    /// <summary>The columns of the <c>COPY</c>, in the payload's order.</summary>
    public const string Columns = "id, lead_id, at, score_names, score_values, grade, stage, model_version, message_id";

    private const short FieldCount = 9;
    private const int TextOid = 25, Float8Oid = 701;

    /// <summary>The binary copy signature, flags and header extension length.</summary>
    private static ReadOnlySpan<byte> Header => [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xFF, (byte)'\r', (byte)'\n', 0, 0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>UTF-8 that refuses a lone surrogate rather than replacing it: a text that is not valid UTF-16 fails the commit instead of being stored changed.</summary>
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ArrayBufferWriter<byte> _buffer = new(256 * 1024);
    private readonly List<int> _rows = [];

    /// <summary>The payload: header, rows, trailer.</summary>
    public ReadOnlyMemory<byte> Payload => _buffer.WrittenMemory;

    /// <summary>Writes <paramref name="entries"/> as rows with id 0, after the header and before the trailer.</summary>
    public void Write(IReadOnlyList<ScoreHistoryEntry> entries)
    {
        _buffer.Write(Header);
        string[] names = [];
        byte[][] encodedNames = [];
        for (int i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            _rows.Add(_buffer.WrittenCount);
            Int16(FieldCount);
            Int32(8);
            Int64(0);   // the id, set by SetIds
            Text(entry.LeadId);
            Int32(8);
            Int64(entry.At.UtcTicks);

            // The names are the same for every row of one model: encoded once.
            var scores = entry.Scores;
            if (!SameNames(scores, names))
            {
                names = [.. scores.Select(s => s.Key)];
                encodedNames = [.. names.Select(n => Utf8.GetBytes(PgText.Encode(n)))];
            }

            int namesLength = ArrayHeaderLength(scores.Count);
            foreach (var name in encodedNames)
            {
                namesLength += 4 + name.Length;
            }

            Int32(namesLength);
            ArrayHeader(scores.Count, TextOid);
            foreach (var name in encodedNames)
            {
                Int32(name.Length);
                _buffer.Write(name);
            }

            Int32(ArrayHeaderLength(scores.Count) + (scores.Count * 12));
            ArrayHeader(scores.Count, Float8Oid);
            for (int k = 0; k < scores.Count; k++)
            {
                Int32(8);
                Int64(BitConverter.DoubleToInt64Bits(scores[k].Value));   // every bit kept: NaN, infinities, -0
            }

            Text(entry.Grade);
            Text(entry.Stage);
            Text(entry.ModelVersion);
            Text(entry.MessageId);
        }

        Int16(-1);
    }

    /// <summary>Sets row <c>i</c>'s id to <paramref name="id"/>(<c>i</c>).</summary>
    public void SetIds(Func<int, long> id)
    {
        var span = System.Runtime.InteropServices.MemoryMarshal.AsMemory(_buffer.WrittenMemory).Span;
        for (int i = 0; i < _rows.Count; i++)
        {
            // The row: field count (2 bytes), the id's length (4), the id (8).
            BinaryPrimitives.WriteInt64BigEndian(span[(_rows[i] + 6)..], id(i));
        }
    }

    /// <summary>Empties the buffer for the next commit; false when it grew past 4 MiB (a large commit's is not kept).</summary>
    public bool Clear()
    {
        _buffer.ResetWrittenCount();
        _rows.Clear();
        return _buffer.Capacity <= 4 << 20;
    }

    private static bool SameNames(IReadOnlyList<KeyValuePair<string, double>> scores, string[] names)
    {
        if (scores.Count != names.Length)
        {
            return false;
        }

        for (int i = 0; i < names.Length; i++)
        {
            if (!string.Equals(scores[i].Key, names[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The bytes of a one-dimensional array's header (none for an empty array: no dimension).</summary>
    private static int ArrayHeaderLength(int count) => count == 0 ? 12 : 20;

    private void ArrayHeader(int count, int elementOid)
    {
        Int32(count == 0 ? 0 : 1);   // dimensions
        Int32(0);                    // no nulls
        Int32(elementOid);
        if (count > 0)
        {
            Int32(count);
            Int32(1);                // lower bound
        }
    }

    /// <summary>A text field (escaped as <see cref="PgText"/> does), or NULL.</summary>
    private void Text(string? text)
    {
        if (text is null)
        {
            Int32(-1);
            return;
        }

        string encoded = PgText.Encode(text);
        int length = Utf8.GetByteCount(encoded);
        Int32(length);
        Utf8.GetBytes(encoded, _buffer.GetSpan(length));
        _buffer.Advance(length);
    }

    private void Int16(short value)
    {
        BinaryPrimitives.WriteInt16BigEndian(_buffer.GetSpan(2), value);
        _buffer.Advance(2);
    }

    private void Int32(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
    }

    private void Int64(long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
    }
}
