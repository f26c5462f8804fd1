using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace LeadScoring.Samples.Tests;

/// <summary>Issue 14, rows 10 and 11: a read key for <c>GET /leads*</c> apart from the write key; no stack trace, ever.</summary>
public sealed class ReadKeyTests(BothKeysServerFixture fixture) : IClassFixture<BothKeysServerFixture>
{
    private HttpClient Client => fixture.Client;

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string path, string? key, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":")));
        }

        using var response = await Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Reading_leads_needs_the_read_key_and_the_write_key_does_not_open_it()
    {
        (await SendAsync(HttpMethod.Get, Http.LeadPath("nobody"), null)).Status.Should().Be(HttpStatusCode.Unauthorized);
        (await SendAsync(HttpMethod.Get, "leads?score=total&top=5", null)).Status.Should().Be(HttpStatusCode.Unauthorized);
        (await SendAsync(HttpMethod.Get, Http.LeadPath("nobody"), BothKeysServerFixture.WriteKey)).Status.Should().Be(HttpStatusCode.Unauthorized);
        var wrong = await SendAsync(HttpMethod.Get, Http.LeadPath("nobody"), "r-91c3");
        wrong.Status.Should().Be(HttpStatusCode.Unauthorized);
        Http.Json(wrong.Body).GetProperty("error").GetString().Should().Contain("read key");

        (await SendAsync(HttpMethod.Get, Http.LeadPath("nobody"), BothKeysServerFixture.ReadKey)).Status.Should().Be(HttpStatusCode.NotFound);
        (await SendAsync(HttpMethod.Get, "leads?score=total&top=5", BothKeysServerFixture.ReadKey)).Status.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Writing_needs_the_write_key_and_the_read_key_does_not_open_it()
    {
        var content = () => new StringContent(TestMessages.Track("rk-a"), Encoding.UTF8, "application/json");

        (await SendAsync(HttpMethod.Post, "v1/track", BothKeysServerFixture.ReadKey, content())).Status.Should().Be(HttpStatusCode.Unauthorized);
        (await SendAsync(HttpMethod.Post, "v1/track", BothKeysServerFixture.WriteKey, content())).Status.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("br")]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task A_corrupt_compressed_body_is_400_with_a_reason_and_no_stack_trace_even_in_development(string encoding)
    {
        var content = new ByteArrayContent([0x1f, 0x8b, 0x08, 0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x42]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add(encoding);

        var (status, body) = await SendAsync(HttpMethod.Post, "v1/batch", BothKeysServerFixture.WriteKey, content);

        status.Should().Be(HttpStatusCode.BadRequest);
        Http.Json(body).GetProperty("message").GetString().Should().NotBeNullOrWhiteSpace();
        body.Should().NotContain("   at ").And.NotContain("Exception");
    }

    [Theory]
    [InlineData("{\"batch\":[{\"type\":\"track\",\"userId\":\"a\",\"userId\":\"b\",\"event\":\"E\",\"timestamp\":\"2026-11-01T00:00:00Z\"}]}", "duplicate key $.userId")]
    [InlineData("[1,2,3]", "expected a JSON object")]
    [InlineData("{\"batch\":[", "not valid JSON")]
    [InlineData("", "not valid JSON")]
    public async Task Every_malformed_body_is_a_4xx_with_a_reason(string json, string reason)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "v1/batch", BothKeysServerFixture.WriteKey, new StringContent(json, Encoding.UTF8, "application/json"));

        ((int)status).Should().BeInRange(400, 499);
        body.Should().Contain(reason);
    }
}
