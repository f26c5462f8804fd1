using System.Text;
using LeadScoring.Messages;

namespace LeadScoring.Tests.Regressions;

/// <summary>Issue 14, the readers: framing before parsing, duplicate keys, per-message limits.</summary>
public class ReaderHardeningTests
{
    private static readonly string[] SampleLines = File.ReadLines(TestData.SamplePath("messages.jsonl")).Take(201).ToArray();

    private static List<MessageRecord> Read(string text, MessageLimits? limits = null) =>
        [.. MessageReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(text)), limits ?? MessageLimits.Default)];

    [Fact]
    public void A_first_line_cut_at_any_point_costs_only_that_line_and_the_200_lines_after_it_are_read()
    {
        string first = SampleLines[0];
        string rest = string.Join('\n', SampleLines.Skip(1)) + "\n";
        for (int cut = 1; cut < first.Length; cut++)
        {
            var records = Read(first[..cut] + "\n" + rest);

            records.Should().HaveCount(201, $"cut at {cut}");
            records[0].Line.Should().Be(1);
            records[0].Result.IsRejected.Should().BeTrue($"cut at {cut}: {first[..cut]}");
            records.Skip(1).Should().OnlyContain(r => r.Result.Message != null, $"cut at {cut}");
            records.Skip(1).Select(r => r.Line).Should().Equal(Enumerable.Range(2, 200).Select(i => (long)i));
        }
    }

    [Fact]
    public void A_file_that_is_a_JSON_array_is_one_rejection_saying_which_formats_are_expected()
    {
        string array = "[\n" + string.Join(",\n", SampleLines.Take(53)) + "\n]\n";

        var records = Read(array);

        records.Should().ContainSingle();
        records[0].Line.Should().Be(1);
        records[0].Result.Error.Should().Be("the input is a JSON array: expected JSON Lines (one message object per line) or one {\"batch\": [...]} object");
    }

    [Fact]
    public void A_pretty_printed_message_is_one_rejection_saying_which_formats_are_expected()
    {
        string pretty = "{\n  \"type\": \"identify\",\n  \"userId\": \"u\",\n  \"timestamp\": \"2026-11-01T00:00:00Z\"\n}\n";

        var records = Read(pretty);

        records.Should().ContainSingle().Which.Result.Error.Should().StartWith("the input is a multi-line JSON document that is not a batch: expected JSON Lines");
    }

    [Fact]
    public void A_line_over_the_limit_is_reported_once_and_the_lines_after_it_keep_their_physical_numbers()
    {
        // 300 KB against a 1,000-byte limit: the same path as 300 MB against 256 MiB, over many buffer fills.
        string text = SampleLines[0] + "\n" + new string('x', 300_000) + "\n\n" + SampleLines[1] + "\r\n" + SampleLines[2];
        var framer = new JsonLinesFramer(new MemoryStream(Encoding.UTF8.GetBytes(text)), maxLineBytes: 1000);
        var seen = new List<(long Line, JsonFrameKind Kind)>();
        while (framer.MoveNext())
        {
            seen.Add((framer.LineNumber, framer.Kind));
        }

        seen.Should().Equal((1, JsonFrameKind.Line), (2, JsonFrameKind.TooLong), (4, JsonFrameKind.Line), (5, JsonFrameKind.Line));
    }

    [Fact]
    public void A_byte_order_mark_at_the_start_of_any_line_is_skipped()
    {
        string bom = "\uFEFF";
        var records = Read(bom + SampleLines[0] + "\n" + bom + SampleLines[1] + "\n");

        records.Should().HaveCount(2).And.OnlyContain(r => r.Result.Message != null);
    }

    [Theory]
    [InlineData("""{"type":"identify","userId":"a","userId":"b","timestamp":"2026-11-01T00:00:00Z"}""", "duplicate key $.userId")]
    [InlineData("""{"type":"identify","userId":"a","timestamp":"2026-11-01T00:00:00Z","timestamp":"2027-11-01T00:00:00Z"}""", "duplicate key $.timestamp")]
    [InlineData("""{"type":"track","event":"E","userId":"a","timestamp":"2026-11-01T00:00:00Z","properties":{"x":[{"a":1,"a":2}]}}""", "duplicate key $.properties.x[0].a")]
    [InlineData("""{"type":"identify","userId":"a","timestamp":"2026-11-01T00:00:00Z","traits":{"first name":1,"first name":2}}""", "duplicate key $.traits[\"first name\"]")]
    public void A_key_repeated_in_one_object_at_any_level_is_rejected_with_its_path(string json, string reason)
    {
        MessageParser.Parse(json).Error.Should().StartWith(reason);
        Read(json + "\n").Should().ContainSingle().Which.Result.Error.Should().StartWith(reason);
    }

    private static string IdentifyWithTraits(int keys)
    {
        var sb = new StringBuilder("""{"type":"identify","userId":"u","timestamp":"2026-11-01T00:00:00Z","traits":{""");
        for (int i = 0; i < keys; i++)
        {
            sb.Append(i == 0 ? "" : ",").Append('"').Append(TestData.Base36(i)).Append("\":1");
        }

        return sb.Append("}}").ToString();
    }

    [Fact]
    public void An_identify_with_95000_trait_keys_is_rejected_at_the_key_limit_or_parsed_in_linear_time_when_raised()
    {
        string json = IdentifyWithTraits(95_000);
        Encoding.UTF8.GetByteCount(json).Should().BeLessThan(MessageParser.MaxMessageBytes);

        var refused = MessageParser.Parse(json);
        var raised = MessageParser.Parse(Encoding.UTF8.GetBytes(json), new MessageLimits { MaxKeys = 100_000 });

        refused.Error.Should().StartWith("more than 10000 keys (MessageLimits.MaxKeys)");
        raised.Message!.Traits!.Keys!.Length.Should().Be(95_000);
        // That the work grows linearly with the keys (it took 46.8 s when quadratic) is SpanParserTests'
        // The_work_for_an_object_grows_linearly_with_its_keys, which counts the work rather than timing it.
    }

    [Fact]
    public void A_message_nested_deeper_than_the_depth_limit_is_rejected_naming_the_limit()
    {
        string deep = """{"type":"identify","userId":"u","timestamp":"2026-11-01T00:00:00Z","traits":{"a":""" + string.Concat(Enumerable.Repeat("[", 70)) + string.Concat(Enumerable.Repeat("]", 70)) + "}}";

        MessageParser.Parse(deep).Error.Should().StartWith("nested deeper than 64 levels (MessageLimits.MaxDepth), at $.traits.a");
        MessageParser.Parse(Encoding.UTF8.GetBytes(deep), new MessageLimits { MaxDepth = 100 }).Message.Should().NotBeNull();
    }

    [Fact]
    public void A_string_longer_than_the_string_limit_is_rejected_naming_the_limit_and_the_path()
    {
        string json = """{"type":"track","event":"E","userId":"u","timestamp":"2026-11-01T00:00:00Z","properties":{"url":""" + "\"" + new string('a', 70_000) + "\"}}";

        MessageParser.Parse(json).Error.Should().Be("the string at $.properties.url is longer than 65536 bytes (MessageLimits.MaxStringBytes)");
        MessageParser.Parse(Encoding.UTF8.GetBytes(json), new MessageLimits { MaxStringBytes = 100_000 }).Message.Should().NotBeNull();
    }

    [Fact]
    public void A_batch_item_with_a_key_that_is_not_valid_UTF8_is_rejected_not_thrown()
    {
        // Found by fuzzing the Segment reader (tests/LeadScoring.Fuzz/crashes/segment): the reader threw on it.
        byte[] line = [.. Encoding.UTF8.GetBytes("{\"batch\":[{\"type\":\"identify\",\"userId\":\"u\",\"timestamp\":\"2026-11-01T00:00:00Z\"},{\""), 0x85, .. Encoding.UTF8.GetBytes("ype\":\"track\"}]}\n")];

        var records = MessageReader.Read(new MemoryStream(line)).ToList();

        records.Should().HaveCount(2);
        records[0].Result.Message.Should().NotBeNull();
        records[1].Result.Error.Should().StartWith("a string is not valid Unicode");
        records[1].Location.Should().Be("line 1, $.batch[1]");
    }
}
