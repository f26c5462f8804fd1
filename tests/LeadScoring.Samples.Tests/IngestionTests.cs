using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace LeadScoring.Samples.Tests;

/// <summary>The Segment endpoints: partial acceptance, single-message endpoints, limits, gzip.</summary>
public sealed class IngestionTests(DefaultServerFixture fixture) : IClassFixture<DefaultServerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private HttpClient Client => fixture.Client;

    [Fact]
    public async Task A_batch_with_one_bad_message_is_400_listing_it_and_the_good_ones_are_scored()
    {
        string good1 = TestMessages.Track("ingest-a1");
        string bad = """{"type":"track","messageId":"x","userId":"ingest-a-bad","event":"Demo Requested"}""";
        string good2 = TestMessages.Identify("ingest-a2");
        var (status, body) = await Client.PostJsonAsync("v1/batch", SampleData.Body([good1, bad, good2]));

        status.Should().Be(HttpStatusCode.BadRequest);
        body.Should().Be("{\"success\":false,\"message\":\"1 of 3 message(s) rejected, 2 accepted\",\"rejected\":[{\"index\":1,\"reason\":\"no 'timestamp'\"}]}");

        (await Client.WaitForLeadAsync("ingest-a1", SampleData.AsOfText, TestMessages.Expected("ingest-a1", good1), Wait))
            .Should().Be(TestMessages.Expected("ingest-a1", good1));
        (await Client.WaitForLeadAsync("ingest-a2", SampleData.AsOfText, TestMessages.Expected("ingest-a2", good2), Wait))
            .Should().Be(TestMessages.Expected("ingest-a2", good2));
        (await Client.GetTextAsync(Http.LeadPath("ingest-a-bad"))).Status.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Every_rejected_message_is_listed_with_its_index()
    {
        var (status, body) = await Client.PostJsonAsync("v1/batch", """{"batch":[42,{"type":"track"},{"type":"track","userId":"ingest-b","timestamp":"yesterday","event":"E"},{"type":"screen","userId":"ingest-b","timestamp":"2026-11-20T10:00:00Z"}]}""");
        status.Should().Be(HttpStatusCode.BadRequest);
        Http.Json(body).GetProperty("message").GetString().Should().Be("3 of 4 message(s) rejected, 1 accepted", "a valid message of an ignored type is accepted");
        var rejected = Http.Json(body).GetProperty("rejected").EnumerateArray().Select(r => (r.GetProperty("index").GetInt32(), r.GetProperty("reason").GetString())).ToList();
        rejected.Should().Equal(
            (0, "a message must be a JSON object, not number"),
            (1, "no 'userId' or 'anonymousId'"),
            (2, "bad 'timestamp' \"yesterday\": expected ISO 8601 with a UTC offset or Z, e.g. 2026-11-05T14:03:00Z"));
    }

    [Fact]
    public async Task Single_message_endpoints_take_the_type_from_the_path_when_the_body_has_none()
    {
        string track = """{"messageId":"ingest-c-1","userId":"ingest-c","event":"Demo Requested","timestamp":"2026-11-20T10:00:00Z"}""";
        string identify = """{"messageId":"ingest-c-2","userId":"ingest-c","timestamp":"2026-11-20T09:00:00Z","traits":{"title":"Director of Sales","employees":300}}""";
        string page = """{"messageId":"ingest-c-3","userId":"ingest-c","timestamp":"2026-11-20T11:00:00Z","properties":{"path":"/pricing"}}""";
        string group = """{"messageId":"ingest-c-4","userId":"ingest-c","groupId":"g-ingest-c","timestamp":"2026-11-20T08:00:00Z","traits":{"industry":"Software"}}""";
        string alias = """{"messageId":"ingest-c-5","userId":"ingest-c","previousId":"anon-ingest-c","timestamp":"2026-11-20T07:00:00Z"}""";
        string screen = """{"messageId":"ingest-c-6","userId":"ingest-c","timestamp":"2026-11-20T12:00:00Z","name":"Home"}""";
        foreach (var (path, message) in new[] { ("track", track), ("identify", identify), ("page", page), ("group", group), ("alias", alias), ("screen", screen) })
        {
            var (status, body) = await Client.PostJsonAsync("v1/" + path, message);
            status.Should().Be(HttpStatusCode.OK, path);
            body.Should().Be("{\"success\":true}");
        }

        // As if each had been sent with its type in a batch (screen is valid and ignored by the scorer).
        string[] typed =
        [
            WithType("track", track), WithType("identify", identify), WithType("page", page), WithType("group", group), WithType("alias", alias),
        ];
        string expected = TestMessages.Expected("ingest-c", typed);
        (await Client.WaitForLeadAsync("ingest-c", SampleData.AsOfText, expected, Wait)).Should().Be(expected);
        (await Client.GetTextAsync(Http.LeadPath("anon-ingest-c", SampleData.AsOfText))).Body.Should().Be(expected, "the alias linked the ids");

        static string WithType(string type, string message) => $"{{\"type\":\"{type}\"," + message[1..];
    }

    [Fact]
    public async Task A_single_message_whose_type_contradicts_the_path_is_rejected()
    {
        var (status, body) = await Client.PostJsonAsync("v1/identify", TestMessages.Track("ingest-d"));
        status.Should().Be(HttpStatusCode.BadRequest);
        body.Should().Be("{\"success\":false,\"message\":\"the message was rejected\",\"rejected\":[{\"index\":0,\"reason\":\"'type' is 'track' but this endpoint is /v1/identify\"}]}");

        (status, body) = await Client.PostJsonAsync("v1/track", TestMessages.Track("ingest-d"));
        status.Should().Be(HttpStatusCode.OK, body);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{\"messages\":[]}")]
    [InlineData("{\"batch\":{}}")]
    public async Task A_body_that_is_not_a_batch_is_400(string json)
    {
        var (status, body) = await Client.PostJsonAsync("v1/batch", json);
        status.Should().Be(HttpStatusCode.BadRequest);
        var error = Http.Json(body);
        error.GetProperty("success").GetBoolean().Should().BeFalse();
        error.GetProperty("message").GetString().Should().NotBeNullOrEmpty();
    }

    [Fact]
    public async Task An_empty_batch_and_ignored_types_are_accepted()
    {
        (await Client.PostJsonAsync("v1/batch", "{\"batch\":[]}")).Status.Should().Be(HttpStatusCode.OK);
        var screen = """{"type":"screen","messageId":"ingest-e-1","userId":"ingest-e","timestamp":"2026-11-20T12:00:00Z","name":"Home"}""";
        (await Client.PostJsonAsync("v1/batch", SampleData.Body([screen]))).Should().Be((HttpStatusCode.OK, "{\"success\":true}"));
    }

    [Fact]
    public async Task A_body_over_500_KB_is_413_and_nothing_of_it_is_accepted()
    {
        var messages = new List<string>();
        var size = 0;
        for (int i = 0; size <= 520 * 1024; i++)
        {
            var m = TestMessages.Track($"ingest-f-{i}");
            messages.Add(m);
            size += m.Length + 1;
        }

        var (status, body) = await Client.PostJsonAsync("v1/batch", SampleData.Body(messages));
        status.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        Http.Json(body).GetProperty("message").GetString().Should().Contain("512000 bytes");

        await SentinelAsync("ingest-f-sentinel");
        (await Client.GetTextAsync(Http.LeadPath("ingest-f-0"))).Status.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_batch_of_more_than_2500_messages_is_refused_whole()
    {
        var messages = Enumerable.Range(0, 2_501).Select(i => $$"""{"type":"track","userId":"ingest-g-{{i}}","event":"E","timestamp":"2026-11-20T10:00:00Z"}""").ToList();
        var (status, body) = await Client.PostJsonAsync("v1/batch", SampleData.Body(messages));
        status.Should().Be(HttpStatusCode.BadRequest);
        Http.Json(body).GetProperty("message").GetString().Should().Contain("2501 messages").And.Contain("at most 2500");

        await SentinelAsync("ingest-g-sentinel");
        (await Client.GetTextAsync(Http.LeadPath("ingest-g-0"))).Status.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_message_over_32_KB_is_rejected_as_Segment_does()
    {
        var big = $$$"""{"type":"track","messageId":"ingest-h-big","userId":"ingest-h-big","event":"E","timestamp":"2026-11-20T10:00:00Z","properties":{"pad":"{{{new string('x', 33 * 1024)}}}"}}""";
        var good = TestMessages.Track("ingest-h");
        var (status, body) = await Client.PostJsonAsync("v1/batch", SampleData.Body([big, good]));
        status.Should().Be(HttpStatusCode.BadRequest);
        var rejected = Http.Json(body).GetProperty("rejected").EnumerateArray().Single();
        rejected.GetProperty("index").GetInt32().Should().Be(0);
        rejected.GetProperty("reason").GetString().Should().Be($"the message is {Encoding.UTF8.GetByteCount(big)} bytes; at most 32768 are accepted (WebApi:MaxMessageBytes)");
        await Client.WaitForLeadAsync("ingest-h", Wait);
    }

    [Fact]
    public async Task A_gzip_body_is_accepted()
    {
        var message = TestMessages.Track("ingest-i");
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(SampleData.Body([message])));
        }

        using var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add("gzip");
        using var response = await Client.PostAsync("v1/batch", content);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var expected = TestMessages.Expected("ingest-i", message);
        (await Client.WaitForLeadAsync("ingest-i", SampleData.AsOfText, expected, Wait)).Should().Be(expected);
    }

    [Fact]
    public async Task Without_a_configured_write_key_any_authorization_is_accepted()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/track") { Content = new StringContent(TestMessages.Track("ingest-j"), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("any-key:")));
        using var response = await Client.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        await Client.WaitForLeadAsync("ingest-j", Wait);
    }

    /// <summary>Sends a message of a new lead and waits for it: everything queued before it has been applied.</summary>
    private async Task SentinelAsync(string id)
    {
        (await Client.PostJsonAsync("v1/track", TestMessages.Track(id))).Status.Should().Be(HttpStatusCode.OK);
        await Client.WaitForLeadAsync(id, Wait);
    }
}
