using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LeadScoring.Sqlite;

/// <summary>The small JSON columns: a lead's ids (an array of strings) and a history entry's scores (an object of numbers).</summary>
internal sealed class StoreJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly ArrayBufferWriter<byte> _buffer = new(256);
    private readonly Utf8JsonWriter _writer;

    public StoreJson() => _writer = new Utf8JsonWriter(_buffer, WriterOptions);

    /// <summary>Writes <paramref name="ids"/> as a JSON array.</summary>
    public string Ids(IEnumerable<string> ids)
    {
        Reset();
        _writer.WriteStartArray();
        foreach (var id in ids)
        {
            _writer.WriteStringValue(id);
        }

        _writer.WriteEndArray();
        return Text();
    }

    /// <summary>Writes <paramref name="scores"/> as a JSON object in their order; a non-finite value is written as a string.</summary>
    public string Scores(IReadOnlyList<KeyValuePair<string, double>> scores)
    {
        Reset();
        WriteScores(scores);
        return Text();
    }

    /// <summary>
    /// Appends <paramref name="scores"/> to <paramref name="output"/> as a JSON object in their order; a non-finite value
    /// is written as a string.
    /// </summary>
    public void Scores(IReadOnlyList<KeyValuePair<string, double>> scores, IBufferWriter<byte> output)
    {
        _writer.Reset(output);
        WriteScores(scores);
        _writer.Flush();
        _writer.Reset(_buffer);
    }

    private void WriteScores(IReadOnlyList<KeyValuePair<string, double>> scores)
    {
        _writer.WriteStartObject();
        for (int i = 0; i < scores.Count; i++)   // by index: no enumerator per row
        {
            var (name, value) = scores[i];
            if (double.IsFinite(value))
            {
                _writer.WriteNumber(name, value);
            }
            else
            {
                _writer.WriteString(name, value.ToString(CultureInfo.InvariantCulture));
            }
        }

        _writer.WriteEndObject();
    }

    /// <summary>Reads a JSON array of strings.</summary>
    public static string[] ReadIds(string json)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
        var ids = new List<string>();
        Expect(ref reader, JsonTokenType.StartArray);
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            ids.Add(reader.GetString() ?? throw Corrupt("a null id"));
        }

        return [.. ids];
    }

    /// <summary>Reads a JSON object of numbers, keeping its order.</summary>
    public static KeyValuePair<string, double>[] ReadScores(string json)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
        var scores = new List<KeyValuePair<string, double>>();
        Expect(ref reader, JsonTokenType.StartObject);
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            string name = reader.GetString()!;
            double value = Next(ref reader) switch
            {
                JsonTokenType.Number => reader.GetDouble(),
                JsonTokenType.String => double.Parse(reader.GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture),
                _ => throw Corrupt($"score '{name}' is not a number"),
            };
            scores.Add(new(name, value));
        }

        return [.. scores];
    }

    private void Reset()
    {
        _buffer.ResetWrittenCount();
        _writer.Reset();
    }

    private string Text()
    {
        _writer.Flush();
        return Encoding.UTF8.GetString(_buffer.WrittenSpan);
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw Corrupt("truncated JSON");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (Next(ref reader) != type)
        {
            throw Corrupt($"expected {type}");
        }
    }

    private static InvalidDataException Corrupt(string what) => new($"Lead store: unreadable JSON column: {what}.");
}
