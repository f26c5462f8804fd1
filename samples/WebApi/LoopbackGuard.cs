using System.Net;

namespace LeadScoring.Samples.WebApi;

/// <summary>Tells which listen addresses are not loopback.</summary>
public static class LoopbackGuard
{
    /// <summary>
    /// The addresses (as in <c>--urls</c>) that would listen beyond this machine: wildcards (<c>*</c>, <c>+</c>,
    /// <c>0.0.0.0</c>, <c>[::]</c>), other IP addresses, and host names other than <c>localhost</c> (Kestrel binds
    /// those to every interface). Unix sockets and named pipes are local.
    /// </summary>
    public static List<string> NonLoopback(IEnumerable<string> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var refused = new List<string>();
        foreach (var address in addresses)
        {
            if (!IsLocal(address))
            {
                refused.Add(address);
            }
        }

        return refused;
    }

    private static bool IsLocal(string address)
    {
        BindingAddress parsed;
        try
        {
            parsed = BindingAddress.Parse(address);
        }
        catch (FormatException)
        {
            return false;
        }

        if (parsed.IsUnixPipe || parsed.IsNamedPipe)
        {
            return true;
        }

        string host = parsed.Host;
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip);
    }
}
