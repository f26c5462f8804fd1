using System.Text;
using System.Text.Json;
using LeadScoring.Messages;

namespace LeadScoring.Tests.Regressions;

/// <summary>
/// Issue 10, one Segment reader: <see cref="MessageParser"/> reads a message in one <see cref="Utf8JsonReader"/> pass
/// (no JsonDocument). Field order does not change the reason given, trees are built exactly, objects of any size
/// parse in linear time, and text that is never read is never checked.
/// </summary>
public class SpanParserTests
{
    private const string Ts = "\"timestamp\":\"2026-11-01T00:00:00Z\"";

    private static string Permuted(IReadOnlyList<string> members, int[] order) => "{" + string.Join(",", order.Select(i => members[i])) + "}";

    private static IEnumerable<int[]> Permutations(int n)
    {
        if (n == 1)
        {
            yield return [0];
            yield break;
        }

        foreach (var p in Permutations(n - 1))
        {
            for (int at = 0; at < n; at++)
            {
                var q = new List<int>(p);
                q.Insert(at, n - 1);
                yield return [.. q];
            }
        }
    }

    [Theory]
    [InlineData("'type' must be a string", "\"type\":7", "\"userId\":5", "\"timestamp\":\"yesterday\"", "\"properties\":[]")]
    [InlineData("no 'type'", "\"userId\":5", "\"timestamp\":\"yesterday\"", "\"event\":{}")]
    [InlineData("'userId' must be a string, not number", "\"type\":\"track\"", "\"userId\":5", "\"timestamp\":\"yesterday\"", "\"event\":{}")]
    [InlineData("'anonymousId' must be a string, not array", "\"type\":\"track\"", "\"anonymousId\":[]", "\"messageId\":true", "\"timestamp\":3")]
    [InlineData("no 'userId' or 'anonymousId'", "\"type\":\"page\"", "\"userId\":\"\"", "\"timestamp\":\"yesterday\"", "\"properties\":5")]
    [InlineData("no 'timestamp'", "\"type\":\"track\"", "\"userId\":\"u\"", "\"timestamp\":null", "\"event\":7")]
    [InlineData("bad 'timestamp' {\"a\": [1, 2]}: expected ISO 8601", "\"type\":\"track\"", "\"userId\":\"u\"", "\"timestamp\":{\"a\": [1, 2]}", "\"event\":7")]
    [InlineData("'event' must be a string, not object", "\"type\":\"track\"", "\"userId\":\"u\"", Ts, "\"event\":{}", "\"properties\":5")]
    [InlineData("'context' must be an object, not string", "\"type\":\"page\"", "\"userId\":\"u\"", Ts, "\"context\":\"c\"", "\"properties\":5")]
    [InlineData("'properties' must be an object, not number", "\"type\":\"page\"", "\"userId\":\"u\"", Ts, "\"context\":{}", "\"properties\":5")]
    [InlineData("an alias message without 'userId'", "\"type\":\"alias\"", "\"anonymousId\":\"a\"", Ts, "\"previousId\":\"p\"", "\"traits\":5")]
    public void The_first_problem_reported_does_not_depend_on_the_order_of_the_fields(string reason, params string[] members)
    {
        foreach (var order in Permutations(members.Length))
        {
            string json = Permuted(members, order);

            MessageParser.Parse(json).Error.Should().StartWith(reason, json);
        }
    }

    [Fact]
    public void A_valid_message_parses_to_the_same_fields_in_any_field_order()
    {
        string[] members =
        [
            "\"type\":\"track\"", "\"userId\":\"u\"", "\"anonymousId\":\"a\"", "\"messageId\":\"m\"", Ts, "\"event\":\"E\"",
            "\"properties\":{\"x\":[1,{\"y\":null}]}", "\"context\":{\"ip\":\"1.2.3.4\"}", "\"traits\":{\"t\":1}",
        ];
        string? first = null;
        var random = new Random(10);
        for (int i = 0; i < 200; i++)
        {
            int[] order = [.. Enumerable.Range(0, members.Length).OrderBy(_ => random.Next())];
            var m = MessageParser.Parse(Permuted(members, order)).Message!;

            string seen = $"{m.Type}|{m.UserId}|{m.AnonymousId}|{m.MessageId}|{m.TimestampTicks}|{m.Event}|{DataValue.Canonical(m)}|{m.Traits is null}";
            (first ??= seen).Should().Be(seen);
        }
    }

    private static DataValue Str(string s) => DataValue.FromString(s);

    private static DataValue Num(double d, string text) => DataValue.FromNumber(d, text);

    private static DataValue Obj(params (string Key, DataValue Value)[] members) =>
        new() { Kind = DataKind.Object, Keys = [.. members.Select(m => m.Key)], Values = [.. members.Select(m => m.Value)] };

    private static DataValue Arr(params DataValue[] items) => new() { Kind = DataKind.Array, Items = items };

    [Fact]
    public void Properties_context_and_traits_are_built_exactly_as_written()
    {
        string json = """
            {"type":"track","event":"E","userId":"u","timestamp":"2026-11-01T00:00:00Z",
             "properties":{"n":[1,-0,2.50,1e2,1e400,"12","x",true,false,null,[],{}],"o":{"a":{"b":[[null],[{"c":null}]]}},"z":null,"e\u00e9\n":"q\"\\","":0},
             "context":{"ip":"1.2.3.4","campaign":{"source":"ads","n":-12.5e-1}}}
            """;

        var m = MessageParser.Parse(json).Message!;

        m.Properties.Should().BeEquivalentTo(
            Obj(
                ("n", Arr(
                    Num(1, "1"), Num(-0.0, "-0"), Num(2.5, "2.50"), Num(100, "1e2"),
                    DataValue.FromString("1e400", double.NaN),
                    Str("12"), Str("x"), DataValue.True, DataValue.False, Arr(), Obj())),
                ("o", Obj(("a", Obj(("b", Arr(Arr(), Arr(Obj(("c", DataValue.Null))))))))),
                ("z", DataValue.Null),
                ("e\u00e9\n", Str("q\"\\")),
                ("", Num(0, "0"))),
            o => o.WithStrictOrdering().AllowingInfiniteRecursion());
        m.Context.Should().BeEquivalentTo(
            Obj(("ip", Str("1.2.3.4")), ("campaign", Obj(("source", Str("ads")), ("n", Num(-1.25, "-12.5e-1"))))),
            o => o.WithStrictOrdering().AllowingInfiniteRecursion());
        m.Properties!.Get("n")!.Items![5].Number.Should().Be(12, "a string keeps its invariant-culture number");
        m.Properties.Get("z").Should().BeNull("JSON null reads as missing");
        m.Traits.Should().BeNull("a track message has no traits");
    }

    [Fact]
    public void Only_the_trees_a_message_type_reads_are_kept()
    {
        var identify = MessageParser.Parse("{\"properties\":{\"p\":1},\"context\":{\"c\":1},\"traits\":{\"t\":1},\"type\":\"identify\",\"userId\":\"u\"," + Ts + "}").Message!;
        var page = MessageParser.Parse("{\"type\":\"page\",\"properties\":{\"p\":1},\"context\":{\"c\":1},\"traits\":{\"t\":1},\"userId\":\"u\"," + Ts + "}").Message!;

        identify.Properties.Should().BeNull();
        identify.Traits!.Keys.Should().Equal("t");
        identify.Context!.Keys.Should().Equal("c");
        page.Traits.Should().BeNull();
        page.Properties!.Keys.Should().Equal("p");
    }

    [Theory]
    [InlineData("{\"type\":\"identify\",\"userId\":\"u\"," + Ts + ",\"properties\":{\"k\":\"\\ud800\"}}", null)]
    [InlineData("{\"properties\":{\"k\":\"\\ud800\"},\"type\":\"identify\",\"userId\":\"u\"," + Ts + "}", null)]
    [InlineData("{\"traits\":{\"k\":[\"\\ud800\"]},\"type\":\"identify\",\"userId\":\"u\"," + Ts + "}", "a string is not valid Unicode")]
    [InlineData("{\"type\":\"screen\",\"userId\":\"\\ud800\"," + Ts + "}", null)]
    [InlineData("{\"type\":\"page\",\"userId\":\"u\",\"event\":\"\\udc00\"," + Ts + "}", null)]
    [InlineData("{\"type\":\"track\",\"userId\":\"u\",\"event\":\"\\udc00\"," + Ts + "}", "a string is not valid Unicode")]
    public void Text_that_is_not_valid_Unicode_is_refused_only_where_the_message_reads_it(string json, string? reason)
    {
        var result = MessageParser.Parse(json);

        if (reason is null)
        {
            result.IsRejected.Should().BeFalse(result.Error);
        }
        else
        {
            result.Error.Should().StartWith(reason);
        }
    }

    [Fact]
    public void Invalid_UTF8_in_a_timestamp_object_is_refused_with_the_readers_reason()
    {
        byte[] json = [.. "{\"type\":\"identify\",\"userId\":\"u\",\"timestamp\":{\"a\":\""u8, 0xFF, .. "\"}}"u8];

        MessageParser.Parse(json).Error.Should().Be("a string is not valid Unicode: Cannot transcode invalid UTF-8 JSON text to UTF-16 string.");
    }

    [Theory]
    [InlineData("{\"ty\\u0070e\":\"track\",\"\\u0075serId\":\"u\",\"timestamp\":\"2026-11-01T00:00:00\\u005a\",\"event\":\"\\u0045\"}", "Track|u|E")]
    [InlineData("{\"type\":\"\\u0054RACK\",\"userId\":\"u\"," + Ts + ",\"event\":\"E\"}", "Track|u|E")]
    [InlineData("{\"type\":\"Identify\",\"userId\":\"u\"," + Ts + "}", "Identify|u|")]
    [InlineData("{\"type\":\"trac\u212A\",\"userId\":\"u\"," + Ts + ",\"event\":\"E\"}", "Track|u|E")]
    public void Escaped_keys_and_values_and_the_case_of_the_type_read_as_before(string json, string expected)
    {
        var m = MessageParser.Parse(json).Message!;

        $"{m.Type}|{m.UserId}|{m.Event}".Should().Be(expected);
        m.TimestampTicks.Should().Be(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks);
    }

    [Fact]
    public void A_type_the_engine_ignores_keeps_its_name_as_written()
    {
        MessageParser.Parse("{\"type\":\"Screen\",\"userId\":\"u\"}").IgnoredType.Should().Be("Screen");
        MessageParser.Parse("{\"type\":\"\\u0053creen\"}").IgnoredType.Should().Be("Screen");
    }

    /// <summary>A track message whose <paramref name="field"/> has <paramref name="count"/> keys (short ones: the message stays under 1 MiB).</summary>
    private static string Keys(string field, int count, string? last = null)
    {
        var sb = new StringBuilder("{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\"," + Ts + ",\"" + field + "\":{");
        for (int i = 0; i < count; i++)
        {
            sb.Append(i == 0 ? "" : ",").Append('"').Append(TestData.Base36(i)).Append("\":").Append(i % 10);
        }

        if (last is not null)
        {
            sb.Append(",\"").Append(last).Append("\":0");
        }

        return sb.Append("}}").ToString();
    }

    [Fact]
    public void Objects_of_95000_keys_parse_in_linear_time_and_a_repeated_key_among_them_is_found()
    {
        var limits = new MessageLimits { MaxKeys = 200_000 };
        byte[] properties = Encoding.UTF8.GetBytes(Keys("properties", 95_000));
        byte[] context = Encoding.UTF8.GetBytes(Keys("context", 95_000));
        byte[] repeated = Encoding.UTF8.GetBytes(Keys("properties", 95_000, last: "3"));

        var p = MessageParser.Parse(properties, limits).Message!;
        var c = MessageParser.Parse(context, limits).Message!;
        var r = MessageParser.Parse(repeated, limits);

        p.Properties!.Keys!.Length.Should().Be(95_000);
        p.Properties.Get(TestData.Base36(94_999))!.Number.Should().Be(9);
        properties.Length.Should().BeLessThan(MessageParser.MaxMessageBytes);
        c.Context!.Values!.Length.Should().Be(95_000);
        r.Error.Should().Be("duplicate key $.properties.3: a key may appear once in an object");
    }

    [Fact]
    public void The_work_for_an_object_grows_linearly_with_its_keys()
    {
        // Counted, not timed: the repeated-key check's comparisons and set insertions (MessageLimits.t_keyWork, per
        // thread). Linear work is a constant per key (at most 32 byte comparisons while an object has at most 32 keys,
        // then a set: the 32 moved into it and one insertion per key); a scan over every earlier key would be
        // 95,000² / 2 for the large object, and ten objects of 9,500 keys would cost a tenth of it.
        var limits = new MessageLimits { MaxKeys = 200_000 };
        byte[] small = Encoding.UTF8.GetBytes(Keys("properties", 9_500));
        byte[] large = Encoding.UTF8.GetBytes(Keys("properties", 95_000));

        long before = MessageLimits.t_keyWork;
        for (int i = 0; i < 10; i++)
        {
            MessageParser.Parse(small, limits).Message!.Properties!.Keys!.Length.Should().Be(9_500);
        }

        long smallWork = MessageLimits.t_keyWork - before;
        before = MessageLimits.t_keyWork;
        MessageParser.Parse(large, limits).Message!.Properties!.Keys!.Length.Should().Be(95_000);
        long largeWork = MessageLimits.t_keyWork - before;

        largeWork.Should().BeGreaterThanOrEqualTo(95_000, "every key is checked").And.BeLessThanOrEqualTo(95_000 * 2L, "a constant per key");
        largeWork.Should().BeLessThanOrEqualTo(smallWork + 100, "95,000 keys in one object cost what 10 × 9,500 do, give or take the first 32 keys of each");
    }

    [Theory]
    [InlineData("2026-11-30T00:00Z")]
    [InlineData("2026-11-30t10:15:00z")]
    [InlineData("2026-11-30T10:15:00.5+01:00")]
    [InlineData("2026-11-30T10:15:00.1234567-0530")]
    [InlineData("2026-11-30T10:15:00")]
    [InlineData("2026-11-30 10:15:00Z")]
    [InlineData("2026-02-30T10:15:00Z")]
    [InlineData("2026-11-30T10:15:00.12345678Z")]
    [InlineData("2026-11-30T10:15:00+01")]
    [InlineData("")]
    public void The_span_timestamp_parser_accepts_exactly_what_the_string_one_does(string text)
    {
        bool fromString = MessageParser.TryParseTimestamp(text, out long a);
        bool fromSpan = MessageParser.TryParseTimestamp(text.AsSpan(), out long b);
        var line = MessageParser.Parse($"{{\"type\":\"identify\",\"userId\":\"u\",\"timestamp\":\"{text}\"}}");

        fromSpan.Should().Be(fromString);
        b.Should().Be(a);
        (line.Message?.TimestampTicks).Should().Be(fromString ? a : null);
    }

    [Fact]
    public void A_JsonElement_handed_to_a_message_factory_becomes_the_same_tree_as_parsed_JSON()
    {
        using var doc = JsonDocument.Parse("""{"a":[1,"x",null,{"b":true}],"c":{"d":2.50},"a":"last"}""");

        var m = LeadMessage.Track("1", "u", "E", DateTimeOffset.UnixEpoch, new Dictionary<string, object?> { ["p"] = doc.RootElement });

        m.Properties!.Get("p").Should().BeEquivalentTo(
            Obj(("a", Str("last")), ("c", Obj(("d", Num(2.5, "2.50"))))),
            o => o.WithStrictOrdering().AllowingInfiniteRecursion());
    }

    [Fact]
    public void A_batch_item_is_read_by_the_same_parser_as_a_line()
    {
        string item = "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\"," + Ts + ",\"properties\":{\"a\":[1,{\"b\":null}]}}";
        var records = MessageReader.Read(new MemoryStream(Encoding.UTF8.GetBytes("{\"batch\":[" + item + ",{\"type\":5}]}\n"))).ToList();

        var line = MessageParser.Parse(item).Message!;
        records.Should().HaveCount(2);
        DataValue.Canonical(records[0].Result.Message!).Should().Be(DataValue.Canonical(line));
        records[0].Result.Message!.MessageId.Should().Be(line.MessageId, "a synthetic id hashes the item's bytes as written");
        records[1].Result.Error.Should().Be("'type' must be a string");
    }

    [Fact]
    public void Parsing_a_message_allocates_only_the_message()
    {
        byte[] page = Encoding.UTF8.GetBytes(
            "{\"type\":\"page\",\"messageId\":\"m-000001\",\"userId\":\"L00001\",\"timestamp\":\"2025-01-01T00:00:00Z\"," +
            "\"properties\":{\"url\":\"https://example.com/pricing\",\"title\":\"Pricing\"},\"context\":{\"ip\":\"10.0.0.1\"}}");
        MessageParser.Parse(page).Message.Should().NotBeNull();

        long least = long.MaxValue;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            _ = MessageParser.Parse(page);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        // The LeadMessage, 3 ids, 3 string values, 3 keys, 3 value nodes and 2 objects (each with its key and value arrays).
        least.Should().BeLessThan(1200);
    }
}
