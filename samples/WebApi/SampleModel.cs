using LeadScoring.Hosting;

namespace LeadScoring.Samples.WebApi;

/// <summary>Where the model comes from when configuration does not say: the repository's sample model.</summary>
public static class SampleModel
{
    /// <summary>The sample model, relative to the repository root.</summary>
    public static readonly string RelativePath = Path.Combine("samples", "data", "model.json");

    /// <summary>
    /// Resolves a relative <c>LeadScoring:ModelPath</c> against the content root; with no model configured at all,
    /// uses <c>samples/data/model.json</c> of the first folder above the content root, or else above the app's folder,
    /// that has one. Left unset when none is found: start-up then fails with the library's "no model" error.
    /// </summary>
    public static void Resolve(LeadScoringOptions options, string contentRoot, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ModelPath))
        {
            options.ModelPath = null;
        }
        else
        {
            options.ModelPath = Path.GetFullPath(options.ModelPath, contentRoot);
            return;
        }

        if (options.ModelJson is null && options.Model is null)
        {
            options.ModelPath = FindAbove(contentRoot) ?? FindAbove(baseDirectory);
        }
    }

    private static string? FindAbove(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, RelativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
