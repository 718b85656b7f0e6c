using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>
/// Base of the end-to-end test classes that build against a Tiny Core mirror: a temporary folder (<see cref="Root"/>)
/// holding the mirror layout (<see cref="Builder"/>, filled by <see cref="Populate"/>) and a real Kestrel server on
/// 127.0.0.1 serving it (<see cref="Mirror"/>), all made afresh for each test and removed after it.
/// </summary>
public abstract class MirroredTests(string folderPrefix) : IAsyncLifetime
{
    protected TempFolder Root { get; private set; } = null!;

    protected TinyCoreMirrorBuilder Builder { get; private set; } = null!;

    protected LoopbackMirror Mirror { get; private set; } = null!;

    /// <summary>Adds the class's extensions and files to <see cref="Root"/> before the server starts.</summary>
    protected abstract void Populate();

    /// <summary>A project that takes its extensions from <see cref="Mirror"/> into its own download cache (cache/ in
    /// the project folder), with <paramref name="properties"/> and <paramref name="items"/> added.</summary>
    protected TestProject MirrorProject(string name, string items, string properties = "")
    {
        var p = SdkHarness.CreateProject(name);
        p.WithProject($"""
            <PropertyGroup>
              <TczMirror>{Mirror.BaseUrl}</TczMirror>
              <MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory>
              {properties}
            </PropertyGroup>
            <ItemGroup>{items}</ItemGroup>
            """);
        return p;
    }

    public async Task InitializeAsync()
    {
        Root = new TempFolder(folderPrefix);
        Builder = new TinyCoreMirrorBuilder(Root.Path);
        Populate();
        Mirror = await LoopbackMirror.StartAsync(Root.Path);
    }

    public async Task DisposeAsync()
    {
        await Mirror.DisposeAsync();
        Root.Dispose();
    }
}
