using System.Text;
using System.Text.Json;
using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;
using LeadScoring.Output;

namespace LeadScoring.Samples.Tests;

/// <summary>The repository's sample (samples/data) and the expected output, computed with the library.</summary>
internal static class SampleData
{
    public const string AsOfText = "2026-11-30T00:00:00Z";

    public static readonly DateTimeOffset AsOf = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Segment's limits for one request, which the test's batches respect.</summary>
    public const int MaxBatchMessages = 500;

    public const int MaxBatchBytes = 500 * 1024;

    public static string ModelPath => Paths.SampleFile("model.json");

    public static string MessagesPath => Paths.SampleFile("messages.jsonl");

    private static readonly Lazy<CompiledModel> LazyModel = new(() => CompiledModel.Compile(ScoringModelLoader.LoadFile(ModelPath).GetModelOrThrow()));

    private static readonly Lazy<List<SampleLine>> LazyLines = new(ReadLines);

    public static CompiledModel Model => LazyModel.Value;

    /// <summary>The non-empty lines of messages.jsonl that are JSON at all (the one that is not is skipped).</summary>
    public static IReadOnlyList<SampleLine> ParsableLines => LazyLines.Value;

    /// <summary>Every usable message of messages.jsonl, read as the CLI reads it.</summary>
    public static List<LeadMessage> Messages()
    {
        using var stream = File.OpenRead(MessagesPath);
        return MessageReader.Read(stream).Where(r => r.Result.Message is not null).Select(r => r.Result.Message!).ToList();
    }

    /// <summary>
    /// What <c>leadscore score --model samples/data/model.json --events samples/data/messages.jsonl --as-of T --explain</c>
    /// prints, by lead id: the batch fold plus <see cref="LeadResultJson.ToJson"/>, which the CLI tests prove equal to its output.
    /// </summary>
    public static Dictionary<string, string> Expected(DateTimeOffset asOf) =>
        LeadScoring.Tests.Shared.SortedScoring.Score(Model, Messages(), asOf, explain: true).ToDictionary(r => r.LeadId, LeadResultJson.ToJson, StringComparer.Ordinal);

    /// <summary>Cuts lines into <c>{"batch": [...]}</c> bodies of at most 500 messages and 500 KB.</summary>
    public static List<List<SampleLine>> Batches(IEnumerable<SampleLine> lines)
    {
        var batches = new List<List<SampleLine>>();
        var current = new List<SampleLine>();
        int bytes = Envelope;
        foreach (var line in lines)
        {
            int size = Encoding.UTF8.GetByteCount(line.Text) + 1;
            if (current.Count > 0 && (current.Count == MaxBatchMessages || bytes + size > MaxBatchBytes))
            {
                batches.Add(current);
                current = [];
                bytes = Envelope;
            }

            current.Add(line);
            bytes += size;
        }

        if (current.Count > 0)
        {
            batches.Add(current);
        }

        return batches;
    }

    private const int Envelope = 12; // {"batch":[ ]}

    /// <summary>A batch request body whose messages are the lines' text exactly as in the file.</summary>
    public static string Body(IEnumerable<string> messages) => "{\"batch\":[" + string.Join(",", messages) + "]}";

    private static List<SampleLine> ReadLines()
    {
        var lines = new List<SampleLine>();
        int number = 0;
        foreach (var raw in File.ReadLines(MessagesPath, Encoding.UTF8))
        {
            number++;
            var text = raw.Trim(' ', '\t', '\r', '\uFEFF');
            if (text.Length == 0)
            {
                continue;
            }

            try
            {
                using var _ = JsonDocument.Parse(text);
            }
            catch (JsonException)
            {
                continue;
            }

            lines.Add(new SampleLine(number, text));
        }

        return lines;
    }
}

/// <summary>One line of messages.jsonl: its 1-based number and its text.</summary>
internal sealed record SampleLine(int Number, string Text)
{
    public MessageParseResult Parse() => MessageParser.Parse(Text);
}
