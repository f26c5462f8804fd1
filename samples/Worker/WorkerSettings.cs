namespace LeadScoring.Samples.Worker;

/// <summary>The sample's settings (section <c>Worker</c>).</summary>
public sealed class WorkerSettings
{
    public string Folder { get; set; } = "inbox";

    public string Database { get; set; } = "leads.db";

    public bool Follow { get; set; } = true;

    public bool ExitWhenDrained { get; set; }

    public string? HandlerLog { get; set; }

    public string? Output { get; set; }

    public DateTimeOffset? AsOf { get; set; }

    /// <summary>The repository's sample model, found by walking up from the app's folder.</summary>
    public static string FindSampleModel()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "samples", "data", "model.json");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return "model.json";
    }
}
