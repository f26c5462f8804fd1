namespace LeadScoring.Samples.WebApi;

/// <summary>The sample's own settings (configuration section <c>WebApi</c>).</summary>
public sealed class WebApiOptions
{
    /// <summary>Port of the default address <c>http://127.0.0.1:PORT</c>, used when no <c>--urls</c> is given.</summary>
    public int Port { get; set; } = 5080;

    /// <summary>
    /// Allows <c>--urls</c> to name an address other than loopback; the app then refuses to start unless both
    /// <see cref="WriteKey"/> and <see cref="ReadKey"/> are set.
    /// </summary>
    public bool AllowRemoteBinding { get; set; }

    /// <summary>When set, every <c>/v1/*</c> request must carry this Segment write key (HTTP Basic user name, or <c>writeKey</c> in the body).</summary>
    public string? WriteKey { get; set; }

    /// <summary>When set, every <c>GET /leads*</c> request must carry this key as the HTTP Basic user name. Distinct from the write key.</summary>
    public string? ReadKey { get; set; }

    /// <summary>Largest request body, after decompression (Segment: 500 KB per batch request).</summary>
    public long MaxRequestBytes { get; set; } = 500 * 1024;

    /// <summary>Largest single message (Segment: 32 KB per message).</summary>
    public int MaxMessageBytes { get; set; } = 32 * 1024;

    /// <summary>Most messages in one <c>/v1/batch</c> request.</summary>
    public int MaxBatchMessages { get; set; } = 2_500;

    /// <summary>
    /// The store: <c>memory</c> (the default: lost when the app stops), <c>sqlite</c> (<see cref="Database"/> is a file
    /// path) or <c>postgres</c> (<see cref="Database"/> is an Npgsql connection string); or <c>cluster</c>: no scorer in
    /// this process, an Orleans client of a LeadScoring cluster whose database is <see cref="Database"/> (see <see cref="ClusterMode"/>).
    /// </summary>
    public string Store { get; set; } = "memory";

    /// <summary>
    /// A SQLite file path, or, with <c>Store=postgres</c>, an Npgsql connection string; with <c>Store=cluster</c>, the
    /// Npgsql connection string of the cluster's database (ADO.NET clustering). Required by all three.
    /// </summary>
    public string? Database { get; set; }

    /// <summary>With <c>Store=cluster</c>: the Orleans <c>ClusterId</c> of the silos (<c>default</c>, as the samples/Cluster silos).</summary>
    public string ClusterId { get; set; } = "default";

    /// <summary>With <c>Store=cluster</c>: the Orleans <c>ServiceId</c> of the silos (<c>default</c>, as the samples/Cluster silos).</summary>
    public string ServiceId { get; set; } = "default";

    /// <summary>Largest <c>top</c> accepted by <c>GET /leads</c>.</summary>
    public int MaxTop { get; set; } = 1_000;
}
