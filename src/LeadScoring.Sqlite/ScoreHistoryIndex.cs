using System.Globalization;
using System.Runtime.InteropServices;
using LeadScoring.Hosting;
using Microsoft.Data.Sqlite;

namespace LeadScoring.Sqlite;

/// <summary>
/// The score history's rows by lead (schema 6, issue 13). <c>score_history</c> has no index of its own: an index on
/// <c>(lead_id, at)</c> took an entry in a page chosen by the lead for every row, so each commit of about 1,500 rows
/// rewrote about 1,200 scattered index pages into the write-ahead log, and that was half the store's time on the
/// canonical workload. Instead:
/// <list type="bullet">
/// <item>rows are appended to <c>score_history</c> alone, with ids given here in commit order (the <em>tail</em>: ids
/// above <c>meta.history_indexed</c>);</item>
/// <item>once the tail holds <see cref="MergeRows"/> rows, one statement adds them all to <c>score_history_by_lead</c>
/// (<c>lead_id, at, id</c>, without rowid) in key order, in the commit's transaction: each of its pages is written once
/// per merge, not once per commit;</item>
/// <item>the tail's rows of a lead are found through a map in memory (lead id → ids and times), built from the table
/// on first use and rebuilt whenever another connection has committed (<c>PRAGMA data_version</c>) or a commit failed.</item>
/// </list>
/// Every statement runs on the store's connection, under the store's lock.
/// </summary>
internal sealed class ScoreHistoryIndex : IDisposable
{
    /// <summary>The <c>meta</c> key of the highest <c>score_history.id</c> in <c>score_history_by_lead</c>.</summary>
    internal const string IndexedKey = "history_indexed";

    /// <summary>How many tail rows are merged at once by default: about 40 commits of the canonical workload.</summary>
    internal const int DefaultMergeRows = 65_536;

    /// <summary>How many rows <see cref="InsertAll"/> writes with one statement (the rest of a commit's rows one at a time).</summary>
    internal const int RowsPerInsert = 16;

    /// <summary>The columns of a <c>score_history</c> row as inserted.</summary>
    private const int Columns = 8;

    private readonly SqliteConnection _connection;
    private readonly RawStatement _insert;
    private readonly RawStatement _insertMany;
    private readonly RawStatement _deleteRow;
    private readonly RawStatement _renameRow;
    private readonly SqliteCommand _renameIndexed;
    private readonly SqliteCommand _deleteIndexed;
    private readonly SqliteCommand _merge;
    private readonly SqliteCommand _dataVersion;

    /// <summary>The tail's rows of each lead, in no particular order (<see cref="Rows"/>' caller sorts); null until loaded, and after a failed commit.</summary>
    private Dictionary<string, List<(long At, long Id)>>? _tail;
    private int _tailRows;
    private long _indexed;
    private long _next;
    private long _seenVersion;

    /// <summary>The transaction the commands are enlisted in (<see cref="Enlist"/>), for the ones made on the spot.</summary>
    private SqliteTransaction? _transaction;

    public ScoreHistoryIndex(SqliteConnection connection, int mergeRows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(mergeRows, 1);
        _connection = connection;
        MergeRows = mergeRows;
        _insert = new RawStatement(connection, """
            INSERT INTO score_history (id, lead_id, at, scores, grade, stage, model_version, message_id)
            VALUES ($id, $lead_id, $at, $scores, $grade, $stage, $model_version, $message_id);
            """);
        // The same insert for RowsPerInsert rows at once: one statement run instead of sixteen (its parameters ?1..?128,
        // row after row in the order of the single insert's).
        _insertMany = new RawStatement(connection, "INSERT INTO score_history (id, lead_id, at, scores, grade, stage, model_version, message_id) VALUES "
            + RawStatement.Values(RowsPerInsert, Columns) + ";");
        _deleteRow = new RawStatement(connection, "DELETE FROM score_history WHERE id = $id;");
        _renameRow = new RawStatement(connection, "UPDATE score_history SET lead_id = $to WHERE id = $id;");
        _renameIndexed = OutcomeWriter.Prepare(connection, null, """
            UPDATE score_history SET lead_id = $to WHERE id IN (SELECT id FROM score_history_by_lead WHERE lead_id = $from);
            UPDATE score_history_by_lead SET lead_id = $to WHERE lead_id = $from;
            """, "$from", "$to");
        _deleteIndexed = OutcomeWriter.Prepare(connection, null, """
            DELETE FROM score_history WHERE id IN (SELECT id FROM score_history_by_lead WHERE lead_id = $lead_id AND at >= $at);
            DELETE FROM score_history_by_lead WHERE lead_id = $lead_id AND at >= $at;
            """, "$lead_id", "$at");
        _merge = OutcomeWriter.Prepare(connection, null, $"""
            INSERT INTO score_history_by_lead (lead_id, at, id)
                SELECT lead_id, at, id FROM score_history WHERE id > $from ORDER BY lead_id, at, id;
            INSERT INTO meta (key, value) VALUES ('{IndexedKey}', $to) ON CONFLICT (key) DO UPDATE SET value = excluded.value;
            """, "$from", "$to");
        _dataVersion = OutcomeWriter.Prepare(connection, null, "PRAGMA data_version;");
    }

    /// <summary>How many tail rows make a merge.</summary>
    public int MergeRows { get; }

    /// <summary>Puts the commands in <paramref name="transaction"/> (or none).</summary>
    public void Enlist(SqliteTransaction? transaction)
    {
        _renameIndexed.Transaction = transaction;
        _deleteIndexed.Transaction = transaction;
        _merge.Transaction = transaction;
        _dataVersion.Transaction = transaction;
        _transaction = transaction;
    }

    /// <summary>Forgets the map: a commit failed and was rolled back, so it may hold rows that are not there.</summary>
    public void Invalidate() => _tail = null;

    /// <summary>Moves every row of lead <paramref name="from"/> to lead <paramref name="to"/>. After <see cref="Load"/>.</summary>
    public void Rename(string from, string to)
    {
        var tail = _tail!;
        Run(_renameIndexed, from, to);
        if (tail.Remove(from, out var rows))
        {
            _renameRow.Text(1, to);
            foreach (var (_, id) in rows)
            {
                _renameRow.Int64(2, id);
                _renameRow.Run();
            }

            if (tail.TryGetValue(to, out var existing))
            {
                existing.AddRange(rows);
            }
            else
            {
                tail[to] = rows;
            }
        }
    }

    /// <summary>Deletes the rows of <paramref name="leadId"/> at or after <paramref name="fromTicks"/>. After <see cref="Load"/>.</summary>
    public void DeleteFrom(string leadId, long fromTicks)
    {
        var tail = _tail!;
        Run(_deleteIndexed, leadId, fromTicks);
        if (tail.TryGetValue(leadId, out var rows))
        {
            int removed = 0;
            foreach (var (at, id) in rows)
            {
                if (at >= fromTicks)
                {
                    _deleteRow.Int64(1, id);
                    _deleteRow.Run();
                    removed++;
                }
            }

            if (removed > 0)
            {
                rows.RemoveAll(r => r.At >= fromTicks);
                _tailRows -= removed;
                if (rows.Count == 0)
                {
                    tail.Remove(leadId);
                }
            }
        }
    }

    /// <summary>The scores of a commit's entry <paramref name="index"/>, as UTF-8 JSON.</summary>
    public delegate ReadOnlySpan<byte> ScoresOf(int index);

    /// <summary>
    /// Appends <paramref name="entries"/> to the tail, in their order (their ids given in that order), with their scores
    /// from <paramref name="scores"/>: <see cref="RowsPerInsert"/> rows per statement, then the rest one by one. After
    /// <see cref="Load"/>.
    /// </summary>
    public void InsertAll(IReadOnlyList<ScoreHistoryEntry> entries, ScoresOf scores)
    {
        int i = 0;
        for (; i + RowsPerInsert <= entries.Count; i += RowsPerInsert)
        {
            for (int row = 0; row < RowsPerInsert; row++)
            {
                Bind(_insertMany, row * Columns, entries[i + row], scores(i + row));
            }

            _insertMany.Run();
        }

        for (; i < entries.Count; i++)
        {
            Bind(_insert, 0, entries[i], scores(i));
            _insert.Run();
        }
    }

    /// <summary>Binds one row, the next id, to the parameters after <paramref name="offset"/>, and notes it in the tail.</summary>
    private void Bind(RawStatement statement, int offset, ScoreHistoryEntry entry, ReadOnlySpan<byte> scores)
    {
        long id = _next++;
        long at = entry.At.UtcTicks;
        statement.Int64(offset + 1, id);
        statement.Text(offset + 2, entry.LeadId);
        statement.Int64(offset + 3, at);
        statement.Utf8(offset + 4, scores);
        statement.Text(offset + 5, entry.Grade);
        statement.Text(offset + 6, entry.Stage);
        statement.Text(offset + 7, entry.ModelVersion);
        statement.Text(offset + 8, entry.MessageId);
        ref var rows = ref CollectionsMarshal.GetValueRefOrAddDefault(_tail!, entry.LeadId, out _);
        (rows ??= new List<(long, long)>(2)).Add((at, id));
        _tailRows++;
    }

    /// <summary>Adds the tail to <c>score_history_by_lead</c> once it holds <see cref="MergeRows"/> rows. After <see cref="Load"/>.</summary>
    public void MergeIfDue()
    {
        var tail = _tail!;
        if (_tailRows < MergeRows)
        {
            return;
        }

        long to = _next - 1;
        Run(_merge, _indexed, to.ToString(CultureInfo.InvariantCulture));
        _indexed = to;
        tail.Clear();
        _tailRows = 0;
    }

    /// <summary>
    /// The ids and times of the rows of <paramref name="leadId"/> (indexed, then the tail's), not sorted. Called in a read
    /// transaction the commands are enlisted in: its first read fixes the snapshot that the map is then checked against.
    /// </summary>
    public List<(long At, long Id)> Rows(string leadId)
    {
        var rows = new List<(long At, long Id)>();
        using (var command = _connection.CreateCommand())
        {
            command.Transaction = _transaction;
            command.CommandText = "SELECT at, id FROM score_history_by_lead WHERE lead_id = $lead_id;";
            command.Parameters.AddWithValue("$lead_id", leadId);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                rows.Add((reader.GetInt64(0), reader.GetInt64(1)));
            }
        }

        if (Load().TryGetValue(leadId, out var recent))
        {
            rows.AddRange(recent);
        }

        return rows;
    }

    /// <summary>
    /// The map of the tail, (re)loaded when missing or when another connection has committed since: called once at the
    /// start of each commit (inside its transaction) and of each read.
    /// </summary>
    public Dictionary<string, List<(long At, long Id)>> Load()
    {
        long version = Convert.ToInt64(_dataVersion.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (_tail is not null && version == _seenVersion)
        {
            return _tail;
        }

        var tail = new Dictionary<string, List<(long At, long Id)>>(StringComparer.Ordinal);
        int count = 0;
        long indexed;
        long last;
        using (var command = _connection.CreateCommand())
        {
            command.Transaction = _transaction;
            command.CommandText = $"SELECT CAST(value AS INTEGER) FROM meta WHERE key = '{IndexedKey}';";
            indexed = command.ExecuteScalar() is long i ? i : 0;
            command.CommandText = "SELECT COALESCE(MAX(id), 0) FROM score_history;";
            last = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
            command.CommandText = "SELECT id, lead_id, at FROM score_history WHERE id > $from ORDER BY id;";
            command.Parameters.AddWithValue("$from", indexed);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                string leadId = reader.GetString(1);
                if (!tail.TryGetValue(leadId, out var rows))
                {
                    tail[leadId] = rows = new List<(long, long)>(2);
                }

                rows.Add((reader.GetInt64(2), reader.GetInt64(0)));
                count++;
            }
        }

        _tail = tail;
        _tailRows = count;
        _indexed = indexed;
        _next = Math.Max(indexed, last) + 1;
        _seenVersion = version;
        return tail;
    }

    private static void Run(SqliteCommand command, object first, object second)
    {
        command.Parameters[0].Value = first;
        command.Parameters[1].Value = second;
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _insert.Dispose();
        _insertMany.Dispose();
        _deleteRow.Dispose();
        _renameRow.Dispose();
        _renameIndexed.Dispose();
        _deleteIndexed.Dispose();
        _merge.Dispose();
        _dataVersion.Dispose();
    }
}
