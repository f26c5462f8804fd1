using System.Net;
using System.Text;
using System.Text.Json;

namespace LeadScoring.Samples.Tests;

/// <summary>Small HTTP helpers over the server's client.</summary>
internal static class Http
{
    public static async Task<(HttpStatusCode Status, string Body)> PostJsonAsync(this HttpClient client, string path, string json)
    {
        using var content = new StringContent(json, new UTF8Encoding(false), "application/json");
        using var response = await client.PostAsync(path, content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public static async Task<(HttpStatusCode Status, string Body)> GetTextAsync(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return (response.StatusCode, Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync()));
    }

    public static string LeadPath(string id, string? asOf = null) =>
        "leads/" + Uri.EscapeDataString(id) + (asOf is null ? "" : "?asOf=" + Uri.EscapeDataString(asOf));

    /// <summary>Polls <c>GET /leads/{id}</c> until its body is <paramref name="expected"/>; returns the last body.</summary>
    public static async Task<string?> WaitForLeadAsync(this HttpClient client, string id, string asOf, string expected, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        string? last = null;
        while (DateTime.UtcNow < until)
        {
            var (status, body) = await client.GetTextAsync(LeadPath(id, asOf));
            last = status == HttpStatusCode.OK ? body : $"{(int)status} {body}";
            if (last == expected)
            {
                return last;
            }

            await Task.Delay(100);
        }

        return last;
    }

    /// <summary>Polls <c>GET /leads/{id}</c> until it answers 200.</summary>
    public static async Task<string> WaitForLeadAsync(this HttpClient client, string id, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var (status, body) = await client.GetTextAsync(LeadPath(id));
            if (status == HttpStatusCode.OK)
            {
                return body;
            }

            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"lead '{id}' did not appear within {timeout}: last answer {(int)status} {body}");
            }

            await Task.Delay(50);
        }
    }

    public static JsonElement Json(string body) => JsonDocument.Parse(body).RootElement.Clone();
}
