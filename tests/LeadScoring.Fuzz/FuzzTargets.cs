using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;

namespace LeadScoring.Fuzz;

/// <summary>
/// The fuzz targets: each takes any bytes and must return normally. An exception is a finding (afl counts it as a
/// crash); so is a broken invariant, thrown as <see cref="InvalidOperationException"/>. Shared with the xunit test
/// that replays the committed corpus and crash inputs.
/// </summary>
public static class FuzzTargets
{
    /// <summary>Every target by the name scripts/fuzz.sh and the corpus folders use.</summary>
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>
    {
        ["segment"] = Segment,
        ["framer"] = Framer,
        ["model"] = Model,
    };

    private static readonly Lazy<CompiledModel> SampleModel = new(() => CompiledModel.Compile(ScoringModelLoader.Load(
        """
        {"name":"fuzz","version":"1","scores":[{"name":"fit","min":0,"max":100},{"name":"engagement","halfLifeDays":30}],
         "rules":[{"id":"t","score":"fit","points":10,"when":{"field":"traits.title","op":"matches","value":"(?i)vp|chief"}},
                  {"id":"e","score":"engagement","points":5,"on":"Demo Requested","limit":{"count":2,"perDays":7}},
                  {"id":"p","score":"engagement","points":1,"on":"$page","when":{"field":"properties.url","op":"contains","value":"pricing"}}]}
        """).GetModelOrThrow()));

    /// <summary>The Segment reader: one message, then the bytes as a whole input (JSON Lines or batch); then scored.</summary>
    public static void Segment(byte[] data)
    {
        var one = MessageParser.Parse(data);
        if (one.IsRejected == (one.Message is not null) && !one.IsIgnored)
        {
            throw new InvalidOperationException("a result must be a message, a rejection or an ignored type");
        }

        var engine = new LeadScoringEngine(SampleModel.Value);
        long lastLine = 0;
        foreach (var record in MessageReader.Read(new MemoryStream(data)))
        {
            if (record.Line < lastLine || record.Line < 1)
            {
                throw new InvalidOperationException($"line numbers go back: {record.Line} after {lastLine}");
            }

            lastLine = record.Line;
            if (record.Result.IsRejected && string.IsNullOrEmpty(record.Result.Error))
            {
                throw new InvalidOperationException("a rejection without a reason");
            }

            if (record.Result.Message is { } m)
            {
                engine.Apply(m);
            }
        }

        _ = engine.EvaluateAll(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), explain: true).Count();
    }

    /// <summary>The JSON Lines framer, with small limits so that long lines and documents are reached.</summary>
    public static void Framer(byte[] data)
    {
        var framer = new JsonLinesFramer(new MemoryStream(data), maxLineBytes: 64, maxDocumentBytes: 512);
        long last = 0;
        int physicalLines = data.Count(b => b == (byte)'\n') + 1;
        while (framer.MoveNext())
        {
            if (framer.LineNumber <= last || framer.LineNumber > physicalLines)
            {
                throw new InvalidOperationException($"line {framer.LineNumber} after {last} (of {physicalLines})");
            }

            last = framer.LineNumber;
            var current = framer.Current;
            switch (framer.Kind)
            {
                case JsonFrameKind.Line when current.IsEmpty || current.IndexOf((byte)'\n') >= 0 || current.Length > 65:
                    throw new InvalidOperationException("a line is empty, too long or holds a line break");
                case JsonFrameKind.TooLong or JsonFrameKind.NotJsonLines when framer.Reason is null:
                    throw new InvalidOperationException("no reason");
            }

            if (framer.BytesConsumed > data.Length)
            {
                throw new InvalidOperationException("consumed more than the input");
            }
        }
    }

    /// <summary>The model reader: any document is loaded or refused; a valid one compiles, round-trips and scores.</summary>
    public static void Model(byte[] data)
    {
        var result = ScoringModelLoader.Load(data);
        if (!result.IsValid)
        {
            if (result.Errors.IsDefaultOrEmpty)
            {
                throw new InvalidOperationException("refused without an error");
            }

            return;
        }

        var model = result.Model!;
        var again = ScoringModelLoader.Load(model.ToJson());
        if (!again.IsValid)
        {
            throw new InvalidOperationException("a valid model written back is refused: " + again.Errors[0]);
        }

        var engine = new LeadScoringEngine(CompiledModel.Compile(model));
        var t = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        foreach (var json in Messages)
        {
            if (MessageParser.Parse(json).Message is { } m)
            {
                engine.Apply(m);
            }
        }

        _ = engine.EvaluateAll(t.AddDays(30), explain: true).Count();
    }

    private static readonly string[] Messages =
    [
        """{"type":"identify","userId":"u-1","messageId":"1","timestamp":"2026-11-01T00:00:00Z","traits":{"title":"VP Sales","companySize":250,"email":"a@b.example"}}""",
        """{"type":"track","userId":"u-1","messageId":"2","timestamp":"2026-11-02T00:00:00Z","event":"Demo Requested","properties":{"plan":"pro"}}""",
        """{"type":"page","anonymousId":"a-1","userId":"u-1","messageId":"3","timestamp":"2026-11-03T00:00:00Z","name":"Pricing","properties":{"url":"https://x.example/pricing"}}""",
        """{"type":"group","userId":"u-1","groupId":"g-1","messageId":"4","timestamp":"2026-11-04T00:00:00Z","traits":{"industry":"finance","employees":900}}""",
        """{"type":"alias","userId":"u-2","previousId":"u-1","messageId":"5","timestamp":"2026-11-05T00:00:00Z"}""",
        """{"type":"track","userId":"u-2","messageId":"6","timestamp":"2026-11-20T00:00:00Z","event":"Form Submitted","context":{"campaign":{"source":"google"}}}""",
    ];
}
