using System.Globalization;
using System.Net;
using LeadScoring.Messages;
using LeadScoring.Output;

namespace LeadScoring.Samples.Tests;

/// <summary>
/// Issue 11: <c>GET /leads/{id}</c> and <c>GET /leads?stage=mql</c> show the moves the stage clock makes with no
/// message arriving, as soon as their tick has passed (the sample model's clock: every midnight UTC).
/// </summary>
public sealed class StageClockTests(DefaultServerFixture fixture) : IClassFixture<DefaultServerFixture>
{
    private HttpClient Client => fixture.Client;

    /// <summary>A VP at an 800-person company (fit 35) who attended two webinars (engagement 30): an MQL at <paramref name="at"/>.</summary>
    private static string[] Mql(string lead, DateTimeOffset at)
    {
        string Time(DateTimeOffset t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        return
        [
            $$$"""{"type":"identify","messageId":"{{{lead}}}-i","userId":"{{{lead}}}","timestamp":"{{{Time(at.AddHours(-1))}}}","traits":{"title":"VP Marketing","employees":800}}""",
            $$"""{"type":"track","messageId":"{{lead}}-w1","userId":"{{lead}}","event":"Webinar Attended","timestamp":"{{Time(at)}}"}""",
            $$"""{"type":"track","messageId":"{{lead}}-w2","userId":"{{lead}}","event":"Webinar Attended","timestamp":"{{Time(at)}}"}""",
        ];
    }

    [Fact]
    public async Task A_lead_whose_engagement_decayed_is_out_of_mql_from_the_tick_after_the_crossing()
    {
        // Engagement 30 with a 30-day half-life falls below the exit at 10 after ~47.5 days: "clock-old" became an MQL
        // 60 days ago and left at a midnight since; "clock-new" became one 2 days ago and is still one.
        var today = new DateTimeOffset(DateTimeOffset.UtcNow.UtcDateTime.Date, TimeSpan.Zero);
        string[] old = Mql("clock-old", today.AddDays(-60).AddHours(10));
        string[] recent = Mql("clock-new", today.AddDays(-2).AddHours(10));
        var (status, body) = await Client.PostJsonAsync("v1/batch", SampleData.Body([.. old, .. recent]));
        status.Should().Be(HttpStatusCode.OK, body);
        await Client.WaitForLeadAsync("clock-new", TimeSpan.FromSeconds(30));
        await Client.WaitForLeadAsync("clock-old", TimeSpan.FromSeconds(30));

        // GET /leads/{id}, as of now: the lead left mql at a tick of the clock, as the engine scores it at that instant.
        var (leadStatus, lead) = await Client.GetTextAsync(Http.LeadPath("clock-old"));
        leadStatus.Should().Be(HttpStatusCode.OK, lead);
        var json = Http.Json(lead);
        json.GetProperty("stage").GetString().Should().Be("lead");
        var history = json.GetProperty("stageHistory").EnumerateArray().Select(h => (h.GetProperty("from").GetString(), h.GetProperty("to").GetString(), h.GetProperty("at").GetString()!)).ToList();
        history.Should().HaveCount(2);
        history[1].Should().Match<(string?, string?, string)>(h => h.Item1 == "mql" && h.Item2 == "lead" && h.Item3.EndsWith("T00:00:00Z", StringComparison.Ordinal));
        var asOf = DateTimeOffset.Parse(json.GetProperty("asOf").GetString()!, CultureInfo.InvariantCulture);
        var expected = LeadScoring.Tests.Shared.SortedScoring.Score(SampleData.Model, old.Select(m => MessageParser.Parse(m).Message!), asOf, explain: true).Single();
        lead.Should().Be(LeadResultJson.ToJson(expected));

        // GET /leads?stage=mql: the lead that left is not listed, the recent one is.
        var (listStatus, list) = await Client.GetTextAsync("leads?stage=mql&top=1000");
        listStatus.Should().Be(HttpStatusCode.OK, list);
        var ids = Http.Json(list).EnumerateArray().Select(l => l.GetProperty("leadId").GetString()).ToList();
        ids.Should().Contain("clock-new").And.NotContain("clock-old");
    }
}
