using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using LeadScoring.Hosting;
using LeadScoring.PostgreSql;
using LeadScoring.Stores;
using Microsoft.Data.Sqlite;

namespace LeadScoring.Sqlite;

/// <summary>
/// Writes current outcomes (<see cref="ILeadOutcomeStore"/>) to <c>lead_outcome</c> and <c>lead_outcome_score</c>: prepared
/// commands, made once per connection, used by commits and by migration 5.
/// </summary>
internal sealed class OutcomeWriter : IDisposable
{
    private readonly RawStatement _deleteStaleScores;
    private readonly RawStatement _upsert;
    private readonly RawStatement _upsertScores;
    private readonly SqliteCommand _delete;
    private readonly SqliteCommand _deleteAll;
    private readonly SqliteCommand _storedNames;
    private readonly SqliteCommand _dataVersion;
    private readonly ArrayBufferWriter<byte> _json = new(64 * 1024);
    private readonly SqliteTransaction? _transaction;

    /// <summary>
    /// Every <c>score_names</c> value <c>lead_outcome</c> may hold (a superset: names written since are added, rows
    /// replaced or deleted are not taken out); null when not known (not read yet, or a commit failed). Read again when
    /// another connection has committed (<see cref="_seenVersion"/>).
    /// </summary>
    private HashSet<string>? _known;

    /// <summary>The <c>PRAGMA data_version</c> at which <see cref="_known"/> was read (it changes when another connection commits).</summary>
    private long _seenVersion;

    /// <param name="connection">The store's connection.</param>
    /// <param name="transaction">The transaction in progress on it (the migration's), or null.</param>
    public OutcomeWriter(SqliteConnection connection, SqliteTransaction? transaction = null)
    {
        _transaction = transaction;
        // Score rows of names the lead's new outcome does not have (another model): deleted first, in one statement over
        // one JSON array ($rows) of {l: lead, m: score names joined}.
        const string Rows = "json_each($rows)";
        _deleteStaleScores = new RawStatement(connection, $"""
            DELETE FROM lead_outcome_score WHERE lead_id IN (
                SELECT o.lead_id FROM {Rows} j JOIN lead_outcome o ON o.lead_id = json_extract(j.value, '$.l')
                WHERE o.score_names IS NOT json_extract(j.value, '$.m'));
            """);
        // Then one prepared statement per outcome and per score: binding parameters costs less than SQLite's JSON
        // functions reading each field of each row (a checkpoint of 100,000 outcomes: ~6 s of CPU over JSON). Bound
        // straight into SQLite (RawStatement), by the order their parameters first appear in.
        _upsert = new RawStatement(connection, """
            INSERT INTO lead_outcome (lead_id, at, stage, stage_key, grade, model_version, first_score, score_names)
            VALUES ($l, $t, $s, $k, $g, $v, $f, $m)
            ON CONFLICT (lead_id) DO UPDATE SET
                at = excluded.at, stage = excluded.stage, stage_key = excluded.stage_key, grade = excluded.grade,
                model_version = excluded.model_version, first_score = excluded.first_score, score_names = excluded.score_names;
            """);
        // Changed values only: an unchanged row is left alone.
        _upsertScores = new RawStatement(connection, """
            INSERT INTO lead_outcome_score (lead_id, score_name, value) VALUES ($l, $n, $x)
            ON CONFLICT (lead_id, score_name) DO UPDATE SET value = excluded.value WHERE value IS NOT excluded.value;
            """);
        // Removed outcomes, as one JSON array of lead ids.
        _delete = Prepare(connection, $"""
            DELETE FROM lead_outcome WHERE lead_id IN (SELECT value FROM {Rows});
            DELETE FROM lead_outcome_score WHERE lead_id IN (SELECT value FROM {Rows});
            """, "$rows");
        _deleteAll = Prepare(connection, "DELETE FROM lead_outcome; DELETE FROM lead_outcome_score;");
        _storedNames = Prepare(connection, "SELECT DISTINCT score_names FROM lead_outcome;");
        _dataVersion = Prepare(connection, "PRAGMA data_version;");
    }

    private IEnumerable<SqliteCommand> All => [_delete, _deleteAll, _storedNames, _dataVersion];

    /// <summary>Forgets the score names known to be stored: a commit failed and was rolled back (a deletion of every outcome in it, too).</summary>
    public void Invalidate() => _known = null;

    public void Enlist(SqliteTransaction? transaction)
    {
        foreach (var command in All)
        {
            command.Transaction = transaction;
        }
    }

    /// <summary>Writes a batch's current outcomes: every stored one deleted first with a re-scoring, then the removed ones, then those given.</summary>
    public void Apply(LeadStoreBatch batch)
    {
        if (batch.ReplaceAllLeads)
        {
            _deleteAll.ExecuteNonQuery();
            _known = null;   // read again (an empty table) by the next write: this transaction may yet roll back
        }

        if (batch.RemovedOutcomes.Count > 0)
        {
            _delete.Parameters[0].Value = Encoding.UTF8.GetString(JsonArray(batch.RemovedOutcomes, static (writer, leadId) => writer.WriteStringValue(PgText.Encode(leadId))));
            _delete.ExecuteNonQuery();
        }

        Write(batch.Outcomes);
    }

    /// <summary>Writes each of <paramref name="outcomes"/> (one per lead) as its lead's outcome.</summary>
    public void Write(IReadOnlyList<ScoreHistoryEntry> outcomes)
    {
        if (outcomes.Count == 0)
        {
            return;
        }

        // Each outcome's score names as stored: one string for a run of outcomes with the same names (every outcome of
        // one model has its score names), not one per outcome.
        var names = new string[outcomes.Count];
        var batchNames = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++)
        {
            names[i] = i > 0 && SameNames(outcomes[i - 1], outcomes[i]) ? names[i - 1] : Names(outcomes[i]);
            batchNames.Add(names[i]);
        }

        // Score rows of names a lead's new outcome does not have: deleted only where the table may hold other names than
        // the batch's. Usually it holds one model's, the batch's (a re-scoring deletes every outcome first), and the JSON
        // join below would delete nothing. Skipping it, with the names made once per run, took a fifth off the thread CPU
        // of writing a checkpoint's 100,000 outcomes (benchmarks/README.md, "A first run, phase by phase").
        var known = KnownNames();
        if (known.Count > 0 && !(known.Count == 1 && batchNames.Count == 1 && known.SetEquals(batchNames)))
        {
            _deleteStaleScores.Utf8(1, JsonArray(Enumerable.Range(0, outcomes.Count), (writer, i) =>
            {
                writer.WriteStartObject();
                writer.WriteString("l", PgText.Encode(outcomes[i].LeadId));
                writer.WriteString("m", names[i]);
                writer.WriteEndObject();
            }));
            _deleteStaleScores.Run();
        }

        known.UnionWith(batchNames);
        var row = _upsert;
        var score = _upsertScores;
        // In lead id order: the rows of both primary keys then go in one after the other (a quarter less CPU than in
        // the pipeline's order for 100,000 outcomes).
        var order = new int[outcomes.Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        Array.Sort(order, (a, b) => string.CompareOrdinal(outcomes[a].LeadId, outcomes[b].LeadId) is var c && c != 0 ? c : a.CompareTo(b));
        foreach (int i in order)
        {
            var entry = outcomes[i];
            string lead = PgText.Encode(entry.LeadId);
            row.Text(1, lead);
            row.Int64(2, entry.At.UtcTicks);
            row.Text(3, PgText.EncodeOrNull(entry.Stage));
            row.Text(4, PgText.EncodeOrNull(LeadOutcomes.StageKey(entry.Stage)));
            row.Text(5, PgText.EncodeOrNull(entry.Grade));
            row.Text(6, PgText.Encode(entry.ModelVersion));
            row.Double(7, LeadOutcomes.FirstScore(entry));
            row.Text(8, names[i]);
            row.Run();
            score.Text(1, lead);
            foreach (var (name, value) in LeadOutcomes.Scores(entry))
            {
                score.Text(2, PgText.Encode(name));
                score.Double(3, LeadOutcomes.Sortable(value));
                score.Run();
            }
        }
    }

    /// <summary>
    /// The score names <c>lead_outcome</c> may hold (<see cref="_known"/>): read when not known or when another
    /// connection has committed since (a full read of the table, once per process in the usual case).
    /// </summary>
    private HashSet<string> KnownNames()
    {
        long version = Convert.ToInt64(_dataVersion.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        if (_known is { } known && version == _seenVersion)
        {
            return known;
        }

        known = new HashSet<string>(StringComparer.Ordinal);
        using (var reader = _storedNames.ExecuteReader())
        {
            while (reader.Read())
            {
                known.Add(reader.GetString(0));
            }
        }

        _seenVersion = version;
        return _known = known;
    }

    /// <summary>Whether two outcomes have the same score names in the same order (the usual case: one model's).</summary>
    private static bool SameNames(ScoreHistoryEntry a, ScoreHistoryEntry b)
    {
        var x = a.Scores;
        var y = b.Scores;
        if (x.Count != y.Count)
        {
            return false;
        }

        for (int i = 0; i < x.Count; i++)
        {
            if (!string.Equals(x[i].Key, y[i].Key, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>An outcome's score names as stored (<c>lead_outcome.score_names</c>).</summary>
    private static string Names(ScoreHistoryEntry entry) => PgText.Encode(LeadOutcomes.ScoreNames(entry));

    /// <summary>
    /// <paramref name="items"/> as one JSON array, for a statement over <c>json_each</c>; texts with U+0000 escaped
    /// (<see cref="PgText"/>) by the caller: SQLite's JSON functions would cut them there.
    /// </summary>
    private ReadOnlySpan<byte> JsonArray<T>(IEnumerable<T> items, Action<Utf8JsonWriter, T> write)
    {
        _json.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(_json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartArray();
            foreach (var item in items)
            {
                write(writer, item);
            }

            writer.WriteEndArray();
        }

        return _json.WrittenSpan;
    }

    public void Dispose()
    {
        foreach (var command in All)
        {
            command.Dispose();
        }

        _deleteStaleScores.Dispose();
        _upsert.Dispose();
        _upsertScores.Dispose();
    }

    private SqliteCommand Prepare(SqliteConnection connection, string sql, params string[] parameters) =>
        Prepare(connection, _transaction, sql, parameters);

    /// <summary>A prepared command with its parameters (null values), in <paramref name="transaction"/> when one is in progress.</summary>
    internal static SqliteCommand Prepare(SqliteConnection connection, SqliteTransaction? transaction, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (string name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name, Value = DBNull.Value });
        }

        command.Prepare();
        return command;
    }
}
