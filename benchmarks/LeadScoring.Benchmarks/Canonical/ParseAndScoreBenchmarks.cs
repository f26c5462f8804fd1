using System.Text.Json;
using BenchmarkDotNet.Attributes;
using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>
/// Parsing Segment JSON Lines plus scoring: figures per message (OperationsPerInvoke = 1,100,000), §9 job; the
/// <c>Msgs/s (median)</c> column is the throughput, 1e9 / the median ns per message. Outside the timed region: the
/// whole messages.jsonl of §3 (100,000 identifies then 1,000,000 events, 161,050,166 bytes) built in memory as UTF-8
/// bytes once ([GlobalSetup]), and before each iteration a fresh scorer and a full GC ([IterationSetup]). Timed:
/// split the bytes at <c>\n</c> and parse and apply every line, in file order. After the runs each method's lead
/// totals are checked against the §7 row for all 1,000,000 events, and no line may have been rejected.
/// <list type="bullet">
/// <item><b>HandWrittenUtf8JsonReader</b> (baseline): a <see cref="Utf8JsonReader"/> over each line picks
/// <c>type</c>, <c>userId</c> (turned into the lead's index, <c>L01234</c> → 1234), <c>timestamp</c>
/// (<c>GetDateTimeOffset</c>), <c>event</c> (compared as UTF-8), <c>properties.url</c> (a string) and the five
/// traits, and feeds <see cref="HandWrittenBaseline"/>: <c>Identify</c> or <c>Apply</c>. It allocates the url of
/// each page view and the trait strings of each identify, as such code does.</item>
/// <item><b>LeadScoringApplyJson</b>: a new engine as <c>leadscore score</c> runs it (no reorder horizon), then
/// <see cref="LeadScoringEngine.ApplyJson"/> per line: the one Segment reader (<see cref="MessageParser"/>) into a
/// <see cref="LeadMessage"/>, then the in-order step.</item>
/// </list>
/// </summary>
[Config(typeof(CanonicalConfig))]
[MessagesPerSecondColumn]
[MemoryDiagnoser]
public class ParseAndScoreBenchmarks
{
    private const int Events = CanonicalWorkload.EventCount;
    private const int Messages = CanonicalWorkload.LeadCount + Events;

    private CanonicalWorkload _workload = null!;
    private CompiledModel _model = null!;
    private byte[] _file = [];
    private HandWrittenBaseline _baseline = null!;
    private LeadScoringEngine _scorer = null!;
    private long _rejected;

    [GlobalSetup]
    public void GlobalSetup()
    {
        _workload = CanonicalWorkload.Generate(Events);
        _model = CanonicalWorkload.CompileModel();
        _file = CanonicalJson.Build(_workload, Events);
    }

    [IterationSetup(Target = nameof(HandWrittenUtf8JsonReader))]
    public void SetupBaseline()
    {
        _baseline = null!;
        _baseline = new HandWrittenBaseline(CanonicalWorkload.LeadCount);
        Settle();
    }

    [IterationSetup(Target = nameof(LeadScoringApplyJson))]
    public void SetupScorer()
    {
        _scorer = null!;
        _scorer = new LeadScoringEngine(_model, new LeadScoringEngineOptions { ReorderHorizon = null });
        Settle();
    }

    private void Settle()
    {
        _rejected = 0;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Messages)]
    public long HandWrittenUtf8JsonReader()
    {
        var baseline = _baseline;
        long lines = 0;
        foreach (var line in CanonicalJson.Lines(_file))
        {
            if (!HandWrittenJson.Apply(baseline, line))
            {
                _rejected++;
            }

            lines++;
        }

        return lines;
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public long LeadScoringApplyJson()
    {
        var scorer = _scorer;
        long lines = 0;
        foreach (var line in CanonicalJson.Lines(_file))
        {
            if (scorer.ApplyJson(line).IsRejected)
            {
                _rejected++;
            }

            lines++;
        }

        return lines;
    }

    [GlobalCleanup(Target = nameof(HandWrittenUtf8JsonReader))]
    public void CheckBaseline() => Check("hand-written Utf8JsonReader + baseline", _baseline.Totals());

    [GlobalCleanup(Target = nameof(LeadScoringApplyJson))]
    public void CheckScorer()
    {
        if (_scorer.Statistics.Late != 0)
        {
            throw new InvalidOperationException($"LeadScoringEngine counted {_scorer.Statistics.Late} late messages; the file is in order");
        }

        Check("LeadScoringEngine.ApplyJson", CanonicalJson.Totals(_workload, _scorer));
    }

    private void Check(string what, int[] totals)
    {
        if (_rejected != 0)
        {
            throw new InvalidOperationException($"{what}: {_rejected} lines rejected in the last iteration; the file has none");
        }

        CanonicalWorkload.Check($"{what}, last iteration", Events, CanonicalWorkload.Describe(totals));
    }
}

/// <summary>The hand-written parser of the baseline: one <see cref="Utf8JsonReader"/> pass over a §3 line.</summary>
public static class HandWrittenJson
{
    private enum Kind
    {
        Other,
        Identify,
        Page,
        Track,
    }

    /// <summary>Parses one line and applies it to <paramref name="baseline"/>; false when it is not a usable message.</summary>
    public static bool Apply(HandWrittenBaseline baseline, ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line);
        var kind = Kind.Other;
        int lead = -1, size = 0;
        long timestamp = 0;
        var type = EventType.PageView;
        string? url = null, title = null, industry = null, country = null, domain = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                kind = reader.ValueTextEquals("page"u8) ? Kind.Page
                    : reader.ValueTextEquals("track"u8) ? Kind.Track
                    : reader.ValueTextEquals("identify"u8) ? Kind.Identify
                    : Kind.Other;
            }
            else if (reader.ValueTextEquals("userId"u8))
            {
                reader.Read();
                lead = CanonicalJson.LeadIndex(reader.ValueSpan);
            }
            else if (reader.ValueTextEquals("timestamp"u8))
            {
                reader.Read();
                timestamp = reader.GetDateTimeOffset().ToUnixTimeSeconds();
            }
            else if (reader.ValueTextEquals("event"u8))
            {
                reader.Read();
                type = reader.ValueTextEquals("Email Opened"u8) ? EventType.EmailOpen
                    : reader.ValueTextEquals("Email Clicked"u8) ? EventType.EmailClick
                    : reader.ValueTextEquals("Form Submitted"u8) ? EventType.FormSubmit
                    : reader.ValueTextEquals("Webinar Attended"u8) ? EventType.WebinarAttended
                    : reader.ValueTextEquals("Demo Requested"u8) ? EventType.DemoRequest
                    : reader.ValueTextEquals("Unsubscribed"u8) ? EventType.Unsubscribe
                    : EventType.PageView;
            }
            else if (reader.ValueTextEquals("properties"u8))
            {
                reader.Read();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool isUrl = reader.ValueTextEquals("url"u8);
                    reader.Read();
                    if (isUrl)
                    {
                        url = reader.GetString();
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
            else if (reader.ValueTextEquals("traits"u8))
            {
                reader.Read();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("companySize"u8))
                    {
                        reader.Read();
                        size = reader.GetInt32();
                        continue;
                    }

                    ref string? target = ref title;
                    if (reader.ValueTextEquals("industry"u8))
                    {
                        target = ref industry;
                    }
                    else if (reader.ValueTextEquals("country"u8))
                    {
                        target = ref country;
                    }
                    else if (reader.ValueTextEquals("emailDomain"u8))
                    {
                        target = ref domain;
                    }
                    else if (!reader.ValueTextEquals("jobTitle"u8))
                    {
                        reader.Read();
                        reader.Skip();
                        continue;
                    }

                    reader.Read();
                    target = reader.GetString();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (lead < 0)
        {
            return false;
        }

        switch (kind)
        {
            case Kind.Identify:
                baseline.Identify(lead, title ?? "", size, industry ?? "", country ?? "", domain ?? "");
                return true;
            case Kind.Page when url is not null:
                baseline.Apply(new WorkloadEvent(lead, timestamp, EventType.PageView, url));
                return true;
            case Kind.Track when type != EventType.PageView:
                baseline.Apply(new WorkloadEvent(lead, timestamp, type, null));
                return true;
            default:
                return false;
        }
    }
}
