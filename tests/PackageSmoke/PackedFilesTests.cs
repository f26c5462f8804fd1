using System.IO.Compression;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace PackageSmoke;

/// <summary>
/// What <c>dotnet pack -c Release -o artifacts/packages</c> produced: one .nupkg and one .snupkg per library under src/,
/// one .nupkg for the tool, each with its README, and for libraries the XML documentation of both target frameworks;
/// a nuspec with the licence expression, the repository URL and the commit this test itself was built from.
/// </summary>
public sealed partial class PackedFilesTests
{
    private const string RepositoryUrl = "https://github.com/leadscoring/leadscoring";
    private static readonly string[] TargetFrameworks = ["net8.0", "net10.0"];

    private static string RepoRoot => Metadata("RepoRoot");

    private static string PackagesFolder => Path.Combine(RepoRoot, "artifacts", "packages");

    /// <summary>Every project under src/: (package id, is a tool).</summary>
    public static TheoryData<string, bool> Projects()
    {
        var data = new TheoryData<string, bool>();
        foreach (var project in Directory.GetFiles(Path.Combine(RepoRoot, "src"), "*.csproj", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var text = File.ReadAllText(project);
            var id = PackageIdElement().Match(text) is { Success: true } m ? m.Groups[1].Value : Path.GetFileNameWithoutExtension(project);
            data.Add(id, text.Contains("<PackAsTool>true</PackAsTool>", StringComparison.Ordinal));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public void Each_project_under_src_is_packed_as_specified(string packageId, bool isTool)
    {
        var nupkg = Path.Combine(PackagesFolder, $"{packageId}.{Packages.Version}.nupkg");
        var snupkg = Path.ChangeExtension(nupkg, ".snupkg");
        Assert.True(File.Exists(nupkg), $"{nupkg} is missing");
        Assert.Equal(!isTool, File.Exists(snupkg));

        using var package = ZipFile.OpenRead(nupkg);
        var entries = package.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("README.md", entries);

        var nuspec = package.GetEntry($"{packageId}.nuspec");
        Assert.NotNull(nuspec);
        using var nuspecStream = nuspec.Open();
        var root = XDocument.Load(nuspecStream).Root!;
        var ns = root.Name.Namespace;
        var metadata = root.Element(ns + "metadata")!;
        Assert.Equal(packageId, metadata.Element(ns + "id")!.Value);
        Assert.Equal(Packages.Version, metadata.Element(ns + "version")!.Value);
        Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")?.Value));
        Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "tags")?.Value));
        Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
        Assert.Equal(("expression", "MIT"), ((string?)metadata.Element(ns + "license")?.Attribute("type"), metadata.Element(ns + "license")?.Value));
        Assert.Equal(RepositoryUrl, metadata.Element(ns + "projectUrl")?.Value);
        Assert.EndsWith("/CHANGELOG.md", metadata.Element(ns + "releaseNotes")?.Value, StringComparison.Ordinal);
        var repository = metadata.Element(ns + "repository")!;
        Assert.Equal(("git", RepositoryUrl), ((string?)repository.Attribute("type"), (string?)repository.Attribute("url")));
        Assert.Equal(ThisCommit(), (string?)repository.Attribute("commit"));

        if (isTool)
        {
            Assert.Contains(entries, e => e.StartsWith("tools/net10.0/any/", StringComparison.Ordinal) && e.EndsWith("DotnetToolSettings.xml", StringComparison.Ordinal));
            return;
        }

        foreach (var tfm in TargetFrameworks)
        {
            Assert.Contains($"lib/{tfm}/{packageId}.dll", entries);
            Assert.Contains($"lib/{tfm}/{packageId}.xml", entries);
        }

        Assert.Equal(TargetFrameworks.Order(StringComparer.Ordinal), entries.Where(e => e.StartsWith("lib/", StringComparison.Ordinal)).Select(e => e.Split('/')[1]).Distinct().Order(StringComparer.Ordinal));

        using var symbols = ZipFile.OpenRead(snupkg);
        foreach (var tfm in TargetFrameworks)
        {
            Assert.NotNull(symbols.GetEntry($"lib/{tfm}/{packageId}.pdb"));
        }
    }

    [Fact]
    public void Nothing_else_is_packed()
    {
        var expected = Projects().Select(row => (string)row[0]).ToHashSet(StringComparer.Ordinal);
        var packed = Directory.GetFiles(PackagesFolder, "*.nupkg").Select(f => Path.GetFileName(f)).ToList();
        Assert.All(packed, f => Assert.Contains(f[..^$".{Packages.Version}.nupkg".Length], expected));
    }

    [Fact]
    public void The_core_package_carries_the_schema()
    {
        using var package = ZipFile.OpenRead(Path.Combine(PackagesFolder, $"LeadScoring.{Packages.Version}.nupkg"));
        Assert.NotNull(package.GetEntry("schema/scoring-model.schema.json"));
    }

    /// <summary>The commit this test project was built from: its informational version is VERSION+COMMIT (SourceLink).</summary>
    private static string ThisCommit() =>
        typeof(PackedFilesTests).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[1];

    private static string Metadata(string key) =>
        typeof(PackedFilesTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    [GeneratedRegex("<PackageId>([^<]+)</PackageId>")]
    private static partial Regex PackageIdElement();
}
