using System.Net;
using System.Text.Json;
using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Output;

namespace LeadScoring.Samples.Tests;

/// <summary>The whole sample through HTTP gives, lead for lead, the bytes <c>leadscore score --explain</c> prints.</summary>
public sealed class SampleParityTests(SampleServerFixture fixture) : IClassFixture<SampleServerFixture>
{
    private HttpClient Client => fixture.Client;

    [Fact]
    public async Task Every_lead_as_of_2026_11_30_equals_the_cli_line_byte_for_byte()
    {
        fixture.SentinelAnswer.Should().Be(fixture.Expected[fixture.SentinelLead], "the last lead of the file must be committed as expected");
        var expected = fixture.Expected;
        expected.Should().HaveCountGreaterThanOrEqualTo(20);
        expected.Should().ContainKey("u-0031");
        expected.Keys.Should().Contain(k => k.StartsWith("anon-", StringComparison.Ordinal), "anonymous leads are compared too");

        // Every lead of the sample (640), not only a handful; a mismatch is retried for a while in case a batch is
        // still being committed, then reported.
        var pending = expected.Keys.ToList();
        var actual = new Dictionary<string, string>(StringComparer.Ordinal);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            foreach (var id in pending)
            {
                var (status, body) = await Client.GetTextAsync(Http.LeadPath(id, SampleData.AsOfText));
                actual[id] = status == HttpStatusCode.OK ? body : $"{(int)status} {body}";
            }

            pending = pending.Where(id => actual[id] != expected[id]).ToList();
            if (pending.Count == 0 || DateTime.UtcNow > until)
            {
                break;
            }

            await Task.Delay(200);
        }

        pending.Should().BeEmpty("these leads differ from the CLI (first: {0})",
            pending.Select(id => $"{id}:\n  expected {expected[id]}\n  actual   {actual[id]}").FirstOrDefault());
    }

    [Fact]
    public async Task The_u_0031_example_of_the_readme_is_served()
    {
        await Every_lead_as_of_2026_11_30_equals_the_cli_line_byte_for_byte();
        var (status, body) = await Client.GetTextAsync(Http.LeadPath("u-0031", SampleData.AsOfText));
        status.Should().Be(HttpStatusCode.OK);
        body.Should().StartWith("{\"leadId\":\"u-0031\",\"asOf\":\"2026-11-30T00:00:00Z\",\"scores\":{\"fit\":50,\"engagement\":4.547969241320558,");
        body.Should().Contain("\"stageHistory\":[{\"from\":\"lead\",\"to\":\"mql\",\"at\":\"2026-09-08T04:57:05Z\"},{\"from\":\"mql\",\"to\":\"lead\",\"at\":\"2026-10-27T00:00:00Z\"}]");
    }

    [Fact]
    public async Task A_lead_is_found_by_any_of_its_ids()
    {
        await Every_lead_as_of_2026_11_30_equals_the_cli_line_byte_for_byte();
        var linked = SampleData.Messages().First(m => m.UserId is not null && m.AnonymousId is not null && fixture.Expected.ContainsKey(m.UserId));
        var (status, byAnonymousId) = await Client.GetTextAsync(Http.LeadPath(linked.AnonymousId!, SampleData.AsOfText));
        status.Should().Be(HttpStatusCode.OK);
        byAnonymousId.Should().Be(fixture.Expected[linked.UserId!]);
    }

    [Fact]
    public void Rejected_messages_are_listed_by_index_with_the_library_reason_and_the_rest_of_their_batch_is_scored()
    {
        var reported = new List<(int Line, string Reason)>();
        foreach (var (lines, status, body) in fixture.Responses)
        {
            if (status == HttpStatusCode.OK)
            {
                body.Should().Be("{\"success\":true}");
                lines.Should().OnlyContain(l => !l.Parse().IsRejected);
                continue;
            }

            status.Should().Be(HttpStatusCode.BadRequest, body);
            var json = Http.Json(body);
            json.GetProperty("success").GetBoolean().Should().BeFalse();
            foreach (var r in json.GetProperty("rejected").EnumerateArray())
            {
                reported.Add((lines[r.GetProperty("index").GetInt32()].Number, r.GetProperty("reason").GetString()!));
            }
        }

        var library = SampleData.ParsableLines.Select(l => (l.Number, Result: l.Parse())).Where(x => x.Result.IsRejected).Select(x => (x.Number, x.Result.Error!)).ToList();
        library.Should().HaveCount(5, "the sample has six broken lines, one of which is not JSON at all and is not sent");
        reported.Should().Equal(library);
    }

    [Fact]
    public async Task An_unknown_lead_is_404_and_a_bad_asOf_is_400()
    {
        var (status, body) = await Client.GetTextAsync(Http.LeadPath("no-such-lead", SampleData.AsOfText));
        status.Should().Be(HttpStatusCode.NotFound);
        Http.Json(body).GetProperty("error").GetString().Should().Contain("no-such-lead");

        (status, body) = await Client.GetTextAsync(Http.LeadPath("u-0031", "30/11/2026"));
        status.Should().Be(HttpStatusCode.BadRequest);
        Http.Json(body).GetProperty("error").GetString().Should().Contain("30/11/2026").And.Contain("ISO 8601");

        (status, _) = await Client.GetTextAsync(Http.LeadPath("u-0031", "2026-11-30T00:00:00"));
        status.Should().Be(HttpStatusCode.BadRequest, "a time without an offset names no instant");

        (status, _) = await Client.GetTextAsync("leads/u-0031?asOf=2026-11-30T00:00:00Z&asOf=2026-11-29T00:00:00Z");
        status.Should().Be(HttpStatusCode.BadRequest);

        // Before the lead's first message it does not exist yet.
        (status, _) = await Client.GetTextAsync(Http.LeadPath("u-0031", "2026-01-01T00:00:00Z"));
        status.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task An_offset_asOf_names_the_same_instant_even_with_an_unencoded_plus()
    {
        await Every_lead_as_of_2026_11_30_equals_the_cli_line_byte_for_byte();
        var (status, body) = await Client.GetTextAsync("leads/u-0031?asOf=2026-11-30T01:00:00+01:00");
        status.Should().Be(HttpStatusCode.OK);
        body.Should().Be(fixture.Expected["u-0031"]);
    }

    [Fact]
    public async Task Leads_in_a_stage_are_the_readers_order_by_the_first_score_at_each_leads_latest_change_those_in_the_stage_now()
    {
        await Every_lead_as_of_2026_11_30_equals_the_cli_line_byte_for_byte();
        var (status, body) = await Client.GetTextAsync("leads?stage=mql&top=5");
        status.Should().Be(HttpStatusCode.OK, body);
        var leads = Http.Json(body).EnumerateArray().ToList();
        leads.Should().HaveCountLessThanOrEqualTo(5);
        leads.Should().OnlyContain(l => l.GetProperty("stage").GetString() == "mql");
        await ShouldBeConsistentAsync(leads, body);

        // The order: the leads in mql as of their latest message, by their first score (fit) there; of those, the
        // ones still in mql at the list's instant.
        var asOf = leads.Count > 0 ? DateTimeOffset.Parse(leads[0].GetProperty("asOf").GetString()!, System.Globalization.CultureInfo.InvariantCulture) : DateTimeOffset.UtcNow;
        var now = ExpectedAt(asOf).ToDictionary(r => r.LeadId, StringComparer.Ordinal);
        var expected = LatestOutcomes().Where(r => r.Stage == "mql").OrderByDescending(r => r["fit"]).ThenBy(r => r.LeadId, StringComparer.Ordinal)
            .Where(r => now.TryGetValue(r.LeadId, out var n) && n.Stage == "mql").Take(5).Select(r => now[r.LeadId]).ToList();
        expected.Should().NotBeEmpty();
        leads.Should().HaveCount(expected.Count);
        CompareWithBatchWhenDeterministic(leads, expected, asOf);
    }

    [Fact]
    public async Task Top_leads_by_a_score_are_ordered_by_it_at_each_leads_latest_change_not_decayed_to_now()
    {
        await Every_lead_as_of_2026_11_30_equals_the_cli_line_byte_for_byte();
        var (status, body) = await Client.GetTextAsync("leads?score=total&top=10");
        status.Should().Be(HttpStatusCode.OK, body);
        var leads = Http.Json(body).EnumerateArray().ToList();
        leads.Should().HaveCount(10);
        await ShouldBeConsistentAsync(leads, body);

        // The reader's order (its index), not the order of the values now: the leads' total at their latest message.
        var asOf = DateTimeOffset.Parse(leads[0].GetProperty("asOf").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var now = ExpectedAt(asOf).ToDictionary(r => r.LeadId, StringComparer.Ordinal);
        var byLatest = LatestOutcomes().OrderByDescending(r => r["total"]).ThenBy(r => r.LeadId, StringComparer.Ordinal).Take(10).Select(r => r.LeadId).ToList();
        var byNow = now.Values.OrderByDescending(r => r["total"]).ThenBy(r => r.LeadId, StringComparer.Ordinal).Take(10).Select(r => r.LeadId).ToList();
        byLatest.Should().NotEqual(byNow, "the sample's decay makes the two orders differ, so this test tells them apart");
        CompareWithBatchWhenDeterministic(leads, [.. byLatest.Select(id => now[id])], asOf);

        (status, body) = await Client.GetTextAsync("leads?score=totl&top=10");
        status.Should().Be(HttpStatusCode.BadRequest);
        Http.Json(body).GetProperty("error").GetString().Should().Contain("totl");

        (status, _) = await Client.GetTextAsync("leads?score=total&top=0");
        status.Should().Be(HttpStatusCode.BadRequest);
        (status, _) = await Client.GetTextAsync("leads?score=total&top=ten");
        status.Should().Be(HttpStatusCode.BadRequest);
        (status, _) = await Client.GetTextAsync("leads");
        status.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Stage_moves_are_logged_at_information_without_trait_values()
    {
        await Every_lead_as_of_2026_11_30_equals_the_cli_line_byte_for_byte();
        const string move = "Lead u-0031 moved from stage lead to mql at 2026-09-08T04:57:05Z (model 2026.11.1)";
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!fixture.Server.Output.Contains(move, StringComparison.Ordinal) && DateTime.UtcNow < until)
        {
            await Task.Delay(100);
        }

        var output = fixture.Server.Output;
        output.Should().Contain(move);
        output.Should().Contain("info: LeadScoring.Samples.WebApi.StageChangeLogger");
        output.Should().Contain("3 worker(s)", "LeadScoring:Workers comes from configuration");

        // No trait value of any identify or group message appears in the log (e-mail addresses, titles, companies...).
        var traitValues = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in SampleData.ParsableLines)
        {
            using var doc = JsonDocument.Parse(line.Text);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("traits", out var traits) && traits.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in traits.EnumerateObject())
                {
                    if (p.Value.ValueKind == JsonValueKind.String && p.Value.GetString()!.Length >= 4)
                    {
                        traitValues.Add(p.Value.GetString()!);
                    }
                }
            }
        }

        traitValues.Should().Contain("maria.silva@junipercapital.example");
        traitValues.Where(v => output.Contains(v, StringComparison.Ordinal)).Should().BeEmpty();
    }

    /// <summary>One instant for the whole list, each object as GET /leads/{id}?asOf= gives it.</summary>
    private async Task ShouldBeConsistentAsync(List<JsonElement> leads, string body)
    {
        leads.Select(l => l.GetProperty("asOf").GetString()).Distinct().Should().HaveCountLessThanOrEqualTo(1);
        var objects = new List<string>();
        foreach (var lead in leads)
        {
            var (status, one) = await Client.GetTextAsync(Http.LeadPath(lead.GetProperty("leadId").GetString()!, lead.GetProperty("asOf").GetString()));
            status.Should().Be(HttpStatusCode.OK);
            objects.Add(one);
        }

        body.Should().Be("[" + string.Join(",", objects) + "]");
    }

    /// <summary>
    /// Every lead of the sample as of its latest message, by one engine fed the whole file: what the lists are ordered
    /// by (each lead's latest score history entry). The stage clock adds no entry here: the server started on a store it
    /// never ran on, and its first tick is the next midnight.
    /// </summary>
    private static List<LeadResult> LatestOutcomes()
    {
        var engine = new LeadScoringEngine(SampleData.Model, new LeadScoringEngineOptions { ReorderHorizon = null });
        foreach (var m in SampleData.Messages())
        {
            engine.Apply(m);
        }

        return [.. engine.LeadIds().Select(id => engine.EvaluateLatest(id)).OfType<LeadResult>()];
    }

    private static IReadOnlyList<LeadResult> ExpectedAt(DateTimeOffset asOf) =>
        LeadScoring.Tests.Shared.SortedScoring.Score(SampleData.Model, SampleData.Messages(), asOf, explain: true);

    /// <summary>
    /// Lists are as of the request time. While that is before the sample's last message (the sample ends on
    /// 2026-11-29), a lead identified after it is reported under its current id by the server but under its older
    /// id by a batch fold at that instant (docs/decisions.md, "Lead id"): then only the values are compared.
    /// </summary>
    private static void CompareWithBatchWhenDeterministic(List<JsonElement> leads, List<LeadResult> expected, DateTimeOffset asOf)
    {
        long lastMessage = SampleData.Messages().Max(m => m.TimestampTicks);
        if (asOf.UtcTicks >= lastMessage)
        {
            leads.Select(l => l.GetRawText()).Should().Equal(expected.Select(LeadResultJson.ToJson));
        }
        else
        {
            leads.Select(l => l.GetProperty("scores").GetRawText()).Should().Equal(expected.Select(r => Http.Json(LeadResultJson.ToJson(r)).GetProperty("scores").GetRawText()));
        }
    }
}
