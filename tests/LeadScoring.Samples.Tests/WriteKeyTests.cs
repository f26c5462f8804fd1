using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace LeadScoring.Samples.Tests;

/// <summary>With <c>WebApi:WriteKey</c> set, <c>/v1/*</c> wants Segment's Basic auth (or <c>writeKey</c> in the body).</summary>
public sealed class WriteKeyTests(WriteKeyServerFixture fixture) : IClassFixture<WriteKeyServerFixture>
{
    private HttpClient Client => fixture.Client;

    [Fact]
    public async Task Without_a_key_the_request_is_401()
    {
        var (status, body) = await Client.PostJsonAsync("v1/track", TestMessages.Track("key-a"));
        status.Should().Be(HttpStatusCode.Unauthorized);
        Http.Json(body).GetProperty("success").GetBoolean().Should().BeFalse();
    }

    [Fact]
    public async Task A_wrong_key_is_401()
    {
        (await SendAsync("v1/track", TestMessages.Track("key-b"), "wrong")).Should().Be(HttpStatusCode.Unauthorized);
        (await Client.PostJsonAsync("v1/batch", "{\"writeKey\":\"wrong\",\"batch\":[" + TestMessages.Track("key-b") + "]}")).Status.Should().Be(HttpStatusCode.Unauthorized);
        await Task.Delay(300);
        (await Client.GetTextAsync(Http.LeadPath("key-b"))).Status.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_key_as_basic_user_name_or_in_the_body_is_accepted()
    {
        (await SendAsync("v1/track", TestMessages.Track("key-c"), WriteKeyServerFixture.WriteKey)).Should().Be(HttpStatusCode.OK);
        (await Client.PostJsonAsync("v1/batch", "{\"writeKey\":\"" + WriteKeyServerFixture.WriteKey + "\",\"batch\":[" + TestMessages.Track("key-d") + "]}")).Status.Should().Be(HttpStatusCode.OK);
        await Client.WaitForLeadAsync("key-c", TimeSpan.FromSeconds(30));
        await Client.WaitForLeadAsync("key-d", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Reading_leads_needs_no_key()
    {
        (await Client.GetTextAsync(Http.LeadPath("key-unknown"))).Status.Should().Be(HttpStatusCode.NotFound);
    }

    private async Task<HttpStatusCode> SendAsync(string path, string json, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":")));
        using var response = await Client.SendAsync(request);
        return response.StatusCode;
    }
}
