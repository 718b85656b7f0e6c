namespace Razor.Microkernel.Formats.Gems;

/// <summary>Which RubyGems' gem folder an installation reproduces.</summary>
public enum GemLayout
{
    /// <summary>RubyGems 1.8: <c>cache/</c>, <c>doc/</c>, <c>gems/</c>, <c>specifications/</c> (1.8's
    /// <c>to_ruby_for_cache</c>), 1.8's wrappers.</summary>
    RubyGems18,

    /// <summary>RubyGems 3 (written as 3.3 writes it): also <c>build_info/</c>, <c>extensions/</c>, <c>plugins/</c>;
    /// specifications in 3.3's <c>to_ruby_for_cache</c> form, 3.3's wrappers, plugin loaders.</summary>
    RubyGems3,
}

/// <summary>Picks the layout a RubyGems version writes.</summary>
public static class GemLayouts
{
    /// <summary>RubyGems 0.x and 1.x: the 1.8 layout; 3.x: the RubyGems 3 layout. Other versions (2.x, 4.x …) have
    /// no layout here and give false.</summary>
    public static bool TryFor(string rubyGemsVersion, out GemLayout layout)
    {
        layout = GemLayout.RubyGems18;
        if (!GemVersion.TryParse(rubyGemsVersion, out var v) || rubyGemsVersion.Trim().Length == 0
            || v.Segments.Count == 0 || v.Segments[0] is not System.Numerics.BigInteger major)
        {
            return false;
        }

        if (major <= 1)
        {
            return true;
        }

        if (major == 3)
        {
            layout = GemLayout.RubyGems3;
            return true;
        }

        return false;
    }
}
