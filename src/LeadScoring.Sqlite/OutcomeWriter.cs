using LeadScoring.Hosting;
using LeadScoring.Stores;
using Microsoft.Data.Sqlite;

namespace LeadScoring.Sqlite;

/// <summary>
/// Writes current outcomes (<see cref="ILeadOutcomeStore"/>) to <c>lead_outcome</c> and <c>lead_outcome_score</c>: prepared
/// commands, made once per connection, used by commits and by migration 5.
/// </summary>
internal sealed class OutcomeWriter : IDisposable
{
    private readonly SqliteCommand _upsert;
    private readonly SqliteCommand _delete;
    private readonly SqliteCommand _deleteScores;
    private readonly SqliteCommand _insertScore;
    private readonly SqliteCommand _latest;
    private readonly SqliteTransaction? _transaction;

    /// <param name="connection">The store's connection.</param>
    /// <param name="transaction">The transaction in progress on it (the migration's), or null.</param>
    public OutcomeWriter(SqliteConnection connection, SqliteTransaction? transaction = null)
    {
        _transaction = transaction;
        // A stored outcome is replaced only by an entry at or after it: the latest entry is the last of the greatest instant.
        _upsert = Prepare(connection, """
            INSERT INTO lead_outcome (lead_id, at, stage, stage_key, grade, model_version, first_score)
            VALUES ($lead_id, $at, $stage, $stage_key, $grade, $model_version, $first_score)
            ON CONFLICT (lead_id) DO UPDATE SET
                at = excluded.at, stage = excluded.stage, stage_key = excluded.stage_key, grade = excluded.grade,
                model_version = excluded.model_version, first_score = excluded.first_score
            WHERE excluded.at >= lead_outcome.at;
            """, "$lead_id", "$at", "$stage", "$stage_key", "$grade", "$model_version", "$first_score");
        _delete = Prepare(connection, "DELETE FROM lead_outcome WHERE lead_id = $lead_id;", "$lead_id");
        _deleteScores = Prepare(connection, "DELETE FROM lead_outcome_score WHERE lead_id = $lead_id;", "$lead_id");
        _insertScore = Prepare(connection, "INSERT INTO lead_outcome_score (lead_id, score_name, value) VALUES ($lead_id, $score_name, $value);",
            "$lead_id", "$score_name", "$value");
        _latest = Prepare(connection, """
            SELECT lead_id, at, scores, grade, stage, model_version, message_id FROM score_history
            WHERE lead_id = $lead_id ORDER BY at DESC, id DESC LIMIT 1;
            """, "$lead_id");
    }

    private IEnumerable<SqliteCommand> All => [_upsert, _delete, _deleteScores, _insertScore, _latest];

    public void Enlist(SqliteTransaction? transaction)
    {
        foreach (var command in All)
        {
            command.Transaction = transaction;
        }
    }

    /// <summary>Brings the outcomes of a batch's leads in step with the history it just wrote (renames and cuts applied, entries appended).</summary>
    public void Apply(LeadStoreBatch batch)
    {
        var recomputed = new List<ScoreHistoryEntry>();
        foreach (string leadId in LeadOutcomes.Recomputed(batch))
        {
            _delete.Parameters[0].Value = leadId;
            _delete.ExecuteNonQuery();
            _deleteScores.Parameters[0].Value = leadId;
            _deleteScores.ExecuteNonQuery();
            _latest.Parameters[0].Value = leadId;
            using var reader = _latest.ExecuteReader();
            if (reader.Read())
            {
                recomputed.Add(new ScoreHistoryEntry(
                    reader.GetString(0), new DateTimeOffset(reader.GetInt64(1), TimeSpan.Zero), StoreJson.ReadScores(reader.GetString(2)),
                    Text(reader, 3), Text(reader, 4), reader.GetString(5), Text(reader, 6)));
            }
        }

        foreach (var entry in LeadOutcomes.Merge(recomputed, LeadOutcomes.Latest(batch.History)))
        {
            Write(entry);
        }
    }

    /// <summary>Writes <paramref name="entry"/> as its lead's outcome unless the stored one is later.</summary>
    public void Write(ScoreHistoryEntry entry)
    {
        var p = _upsert.Parameters;
        p[0].Value = entry.LeadId;
        p[1].Value = entry.At.UtcTicks;
        p[2].Value = Value(entry.Stage);
        p[3].Value = Value(LeadOutcomes.StageKey(entry.Stage));
        p[4].Value = Value(entry.Grade);
        p[5].Value = entry.ModelVersion;
        p[6].Value = (object?)LeadOutcomes.FirstScore(entry) ?? DBNull.Value;
        if (_upsert.ExecuteNonQuery() == 0)
        {
            return;   // the stored outcome is later
        }

        _deleteScores.Parameters[0].Value = entry.LeadId;
        _deleteScores.ExecuteNonQuery();
        p = _insertScore.Parameters;
        p[0].Value = entry.LeadId;
        foreach (var (name, value) in LeadOutcomes.Scores(entry))
        {
            p[1].Value = name;
            p[2].Value = (object?)LeadOutcomes.Sortable(value) ?? DBNull.Value;
            _insertScore.ExecuteNonQuery();
        }
    }

    public void Dispose()
    {
        foreach (var command in All)
        {
            command.Dispose();
        }
    }

    private static object Value(string? text) => (object?)text ?? DBNull.Value;

    private static string? Text(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

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
