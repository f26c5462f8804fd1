using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace LeadScoring.Samples.WebApi;

/// <summary>
/// The API keys, by Segment's convention: the key is the HTTP Basic user name (empty password), e.g.
/// <c>curl -u KEY: ...</c>. The write key guards <c>/v1/*</c>, the read key <c>GET /leads*</c>.
/// </summary>
public static class ApiKeys
{
    /// <summary>
    /// Whether <paramref name="given"/> is <paramref name="expected"/>, in time that depends on neither: both are
    /// hashed first, so not even the length of the key is told by how long the comparison takes.
    /// </summary>
    public static bool Matches(string? given, string? expected)
    {
        if (given is null || string.IsNullOrEmpty(expected))
        {
            return false;
        }

        Span<byte> a = stackalloc byte[32];
        Span<byte> b = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(given), a);
        SHA256.HashData(Encoding.UTF8.GetBytes(expected), b);
        return CryptographicOperations.FixedTimeEquals(a, b);
    }

    /// <summary>The user name of <c>Authorization: Basic base64(user:password)</c>; empty when not decodable, null when absent.</summary>
    public static string? BasicUser(string header)
    {
        const string scheme = "Basic ";
        if (header is null || !header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[scheme.Length..].Trim()));
            int colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? decoded : decoded[..colon];
        }
        catch (FormatException)
        {
            return "";
        }
    }

    /// <summary>An endpoint filter: with <c>WebApi:ReadKey</c> set, a request without that key is 401.</summary>
    public static async ValueTask<object?> RequireReadKey(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        var options = http.RequestServices.GetRequiredService<IOptions<WebApiOptions>>().Value;
        if (options.ReadKey is { Length: > 0 } key && !Matches(BasicUser(http.Request.Headers.Authorization.ToString()), key))
        {
            http.Response.Headers.WWWAuthenticate = "Basic realm=\"leads\"";
            return Results.Json(
                new { error = "missing or wrong read key: send WebApi:ReadKey as the HTTP Basic user name, e.g. curl -u READKEY: ..." },
                statusCode: StatusCodes.Status401Unauthorized);
        }

        return await next(context).ConfigureAwait(false);
    }
}
