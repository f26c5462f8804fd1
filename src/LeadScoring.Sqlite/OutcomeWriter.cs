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
    private readonly SqliteCommand _deleteStaleScores;
    private readonly SqliteCommand _upsert;
    private readonly SqliteCommand _upsertScores;
    private readonly SqliteCommand _delete;
    private readonly SqliteCommand _deleteAll;
    private readonly ArrayBufferWriter<byte> _json = new(64 * 1024);
    private readonly SqliteTransaction? _transaction;

    /// <param name="connection">The store's connection.</param>
    /// <param name="transaction">The transaction in progress on it (the migration's), or null.</param>
    public OutcomeWriter(SqliteConnection connection, SqliteTransaction? transaction = null)
    {
        _transaction = transaction;
        // The outcomes of a commit go in as one JSON array ($rows), each row {l: lead, t: ticks, s: stage, k: stage key,
        // g: grade, v: model version, f: first score, m: score names joined, x: [[name, value], ...]}: three statements
        // per commit, whatever its size (a statement per row cost more than the rest of the commit).
        const string Rows = "json_each($rows)";
        // Score rows of names the lead's new outcome does not have (another model): deleted first.
        _deleteStaleScores = Prepare(connection, $"""
            DELETE FROM lead_outcome_score WHERE lead_id IN (
                SELECT o.lead_id FROM {Rows} j JOIN lead_outcome o ON o.lead_id = json_extract(j.value, '$.l')
                WHERE o.score_names IS NOT json_extract(j.value, '$.m'));
            """, "$rows");
        _upsert = Prepare(connection, $"""
            INSERT INTO lead_outcome (lead_id, at, stage, stage_key, grade, model_version, first_score, score_names)
            SELECT json_extract(value, '$.l'), json_extract(value, '$.t'), json_extract(value, '$.s'), json_extract(value, '$.k'),
                   json_extract(value, '$.g'), json_extract(value, '$.v'), json_extract(value, '$.f'), json_extract(value, '$.m')
            FROM {Rows} WHERE true
            ON CONFLICT (lead_id) DO UPDATE SET
                at = excluded.at, stage = excluded.stage, stage_key = excluded.stage_key, grade = excluded.grade,
                model_version = excluded.model_version, first_score = excluded.first_score, score_names = excluded.score_names;
            """, "$rows");
        // The scores of the outcomes written, changed values only (an unchanged row is left alone).
        _upsertScores = Prepare(connection, $"""
            INSERT INTO lead_outcome_score (lead_id, score_name, value)
            SELECT json_extract(j.value, '$.l'), json_extract(n.value, '$[0]'), json_extract(n.value, '$[1]')
            FROM {Rows} j, json_each(j.value, '$.x') n
            WHERE true
            ON CONFLICT (lead_id, score_name) DO UPDATE SET value = excluded.value WHERE value IS NOT excluded.value;
            """, "$rows");
        // Removed outcomes, as one JSON array of lead ids.
        _delete = Prepare(connection, $"""
            DELETE FROM lead_outcome WHERE lead_id IN (SELECT value FROM {Rows});
            DELETE FROM lead_outcome_score WHERE lead_id IN (SELECT value FROM {Rows});
            """, "$rows");
        _deleteAll = Prepare(connection, "DELETE FROM lead_outcome; DELETE FROM lead_outcome_score;");
    }

    private IEnumerable<SqliteCommand> All => [_deleteStaleScores, _upsert, _upsertScores, _delete, _deleteAll];

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
        }

        if (batch.RemovedOutcomes.Count > 0)
        {
            _json.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(_json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                writer.WriteStartArray();
                foreach (string leadId in batch.RemovedOutcomes)
                {
                    writer.WriteStringValue(PgText.Encode(leadId));
                }

                writer.WriteEndArray();
            }

            _delete.Parameters[0].Value = Encoding.UTF8.GetString(_json.WrittenSpan);
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

        _json.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(_json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartArray();
            foreach (var entry in outcomes)
            {
                writer.WriteStartObject();
                // Texts with U+0000 escaped (PgText): SQLite's JSON functions would cut them there.
                writer.WriteString("l", PgText.Encode(entry.LeadId));
                writer.WriteNumber("t", entry.At.UtcTicks);
                writer.WriteString("s", Encode(entry.Stage));
                writer.WriteString("k", Encode(LeadOutcomes.StageKey(entry.Stage)));
                writer.WriteString("g", Encode(entry.Grade));
                writer.WriteString("v", PgText.Encode(entry.ModelVersion));
                writer.WritePropertyName("f");
                Number(writer, LeadOutcomes.FirstScore(entry));
                writer.WriteString("m", string.Join('\u001f', LeadOutcomes.Scores(entry).Select(s => PgText.Encode(s.Key))));
                writer.WriteStartArray("x");
                foreach (var (name, value) in LeadOutcomes.Scores(entry))
                {
                    writer.WriteStartArray();
                    writer.WriteStringValue(PgText.Encode(name));
                    Number(writer, LeadOutcomes.Sortable(value));
                    writer.WriteEndArray();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        string rows = Encoding.UTF8.GetString(_json.WrittenSpan);
        foreach (var command in (ReadOnlySpan<SqliteCommand>)[_deleteStaleScores, _upsert, _upsertScores])
        {
            command.Parameters[0].Value = rows;
            command.ExecuteNonQuery();
        }
    }

    private static string? Encode(string? text) => text is null ? null : PgText.Encode(text);

    /// <summary>A score in JSON: null for NaN; ±9e999, which SQLite reads as ±infinity, for the infinities.</summary>
    private static void Number(Utf8JsonWriter writer, double? value)
    {
        if (value is not { } v)
        {
            writer.WriteNullValue();
        }
        else if (double.IsFinite(v))
        {
            writer.WriteNumberValue(v);
        }
        else
        {
            writer.WriteRawValue(v > 0 ? "9e999" : "-9e999", skipInputValidation: true);
        }
    }

    public void Dispose()
    {
        foreach (var command in All)
        {
            command.Dispose();
        }
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
