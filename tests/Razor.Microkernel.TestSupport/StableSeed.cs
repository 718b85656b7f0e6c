namespace Razor.Microkernel.TestSupport;

/// <summary>A seed derived from text that is the same in every process (FNV-1a over the UTF-16 code units), unlike
/// <see cref="string.GetHashCode()"/>, which .NET randomizes per process. Seeded tests use it so that a failure
/// printed with its seed can be replayed.</summary>
public static class StableSeed
{
    public static int Of(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return unchecked((int)hash);
    }
}
