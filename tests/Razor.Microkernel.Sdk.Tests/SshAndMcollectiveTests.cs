using Razor.Microkernel.TestSupport;
using Razor.Microkernel.TestSupport.Mirror;

namespace Razor.Microkernel.Sdk.Tests;

/// <summary>McollectiveArchive, SSH for development images, and OverlayCopy, through `dotnet build`.</summary>
public class SshAndMcollectiveTests
{
    private static string Listing(TestProject p) => Tool.Run("tar", "-tvzf", p.Overlay).EnsureSuccess("tar -tvzf").StdOut;

    private static string Read(TestProject p, string path) => Tool.Run("tar", "-xzOf", p.Overlay, path).EnsureSuccess("tar -xzOf " + path).StdOut;

    [Fact]
    public void McollectiveArchive_IsUnpackedLinkedAndMadeExecutable()
    {
        var p = SdkHarness.CreateProject("mco");
        p.Write("mcollective-1.2.1.tgz", TestArchives.Tgz(
            TestArchives.Dir("mcollective-1.2.1/"),
            TestArchives.File("mcollective-1.2.1/mcollectived.rb", "#!/usr/bin/env ruby\n", 0x1A4),
            TestArchives.File("mcollective-1.2.1/plugins/mcollective/agent/rpcutil.rb", "# agent\n"),
            TestArchives.File("mcollective-1.2.1/etc/server.cfg.dist", "topicprefix = /topic/\n")));
        p.WithProject("<PropertyGroup><McollectiveStompHost>h</McollectiveStompHost></PropertyGroup><ItemGroup><McollectiveArchive Include=\"mcollective-1.2.1.tgz\" /></ItemGroup>");
        p.Build().AssertSuccess();
        var listing = Listing(p);
        Assert.Contains(" usr/local/etc/mcollective/server.cfg\n", listing);
        Assert.Matches(@"-rwxr-xr-x root/root .* usr/local/tce.installed/mcollective-1.2.1/mcollectived\.rb\n", listing);
        Assert.Contains(" usr/local/mcollective -> /usr/local/tce.installed/mcollective-1.2.1\n", listing);
        Assert.Contains(" usr/local/sbin/mcollectived -> /usr/local/mcollective/mcollectived.rb\n", listing);
        Assert.Contains(" usr/local/tce.installed/mcollective-1.2.1/plugins/mcollective/agent/rpcutil.rb\n", listing);
    }

    /// <summary>MCollective is used, so the image needs a server.cfg, so it needs the STOMP host.</summary>
    [Fact]
    public void McollectiveArchive_WithoutStompHost_IsRMK4114()
    {
        var p = SdkHarness.CreateProject("mconohost");
        p.Write("mcollective-1.2.1.tgz", TestArchives.Tgz(TestArchives.File("mcollective-1.2.1/mcollectived.rb", "#!/usr/bin/env ruby\n")));
        p.WithProject("<ItemGroup><McollectiveArchive Include=\"mcollective-1.2.1.tgz\" /></ItemGroup>");
        var r = p.Build().AssertFailureWith("RMK4114");
        Assert.Contains("McollectiveStompHost", r.Output);
        Assert.False(File.Exists(p.Overlay));
    }

    [Fact]
    public void McollectiveArchive_NotShapedLikeMcollective_IsACodedError()
    {
        var p = SdkHarness.CreateProject("mcobad");
        p.Write("other.tgz", TestArchives.Tgz(TestArchives.File("other-1.0/x.rb", "x")));
        p.WithProject("<PropertyGroup><McollectiveStompHost>h</McollectiveStompHost></PropertyGroup><ItemGroup><McollectiveArchive Include=\"other.tgz\" /></ItemGroup>");
        p.Build().AssertFailureWith("RMK2023");
    }

    private static TestProject SshProject(TempFolder mirror, string extra, bool keys = true)
    {
        var builder = new TinyCoreMirrorBuilder(mirror.Path);
        var tree = Path.Combine(mirror.Path, "src", "openssh");
        Directory.CreateDirectory(Path.Combine(tree, "usr/local/etc/ssh"));
        Directory.CreateDirectory(Path.Combine(tree, "usr/local/etc/init.d"));
        File.WriteAllText(Path.Combine(tree, "usr/local/etc/ssh/ssh_config.example"), "# ssh_config example\n");
        File.WriteAllText(Path.Combine(tree, "usr/local/etc/ssh/sshd_config.example"), "# sshd_config example\n");
        File.WriteAllText(Path.Combine(tree, "usr/local/etc/init.d/openssh"), "#!/bin/sh\n");
        builder.AddSquashfs("openssh.tcz", tree);
        var p = SdkHarness.CreateProject("ssh");
        p.Write("keys/dev.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample dev@example\n");
        p.Write("keys/ssh_host_rsa_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n");
        p.Write("keys/ssh_host_rsa_key.pub", "ssh-rsa AAAA host\n");
        p.WithProject($"""
            <PropertyGroup>
              <TczMirror>{mirror.Path}</TczMirror>
              <MicrokernelCacheDirectory>cache</MicrokernelCacheDirectory>
            </PropertyGroup>
            <ItemGroup>
              <TczExtension Include="openssh" />
              {(keys ? "<SshAuthorizedKey Include=\"keys/dev.pub\" /><SshHostKey Include=\"keys/ssh_host_rsa_key;keys/ssh_host_rsa_key.pub\" />" : "")}
              {extra}
            </ItemGroup>
            """);
        return p;
    }

    [Fact]
    public void Ssh_DevelopmentImage_ConfigsFromExamplesKeysAndSshdStartedAtBoot()
    {
        using var mirror = new TempFolder("rmk-sshmirror");
        var p = SshProject(mirror, "");
        var r = p.Build().AssertSuccess();
        Assert.Contains("RMK4128", r.Codes);
        var listing = Listing(p);
        Assert.Equal("# ssh_config example\n", Read(p, "usr/local/etc/ssh/ssh_config"));
        Assert.Equal("# sshd_config example\n", Read(p, "usr/local/etc/ssh/sshd_config"));
        Assert.Matches(@"drwx------ tc/staff .* home/tc/\.ssh/\n", listing);
        Assert.Matches(@"-rw------- tc/staff .* home/tc/\.ssh/authorized_keys\n", listing);
        Assert.Matches(@"-rw------- root/root .* usr/local/etc/ssh/ssh_host_rsa_key\n", listing);
        Assert.Matches(@"-rw-r--r-- root/root .* usr/local/etc/ssh/ssh_host_rsa_key\.pub\n", listing);
        var hook = Read(p, "usr/local/etc/init.d/microkernel-setup");
        Assert.Contains("/usr/local/etc/init.d/openssh start", hook);
        AssertNoPasswordIsSet(listing, hook);
    }

    /// <summary>Without SshHostKey items no host key is shipped (openssh generates them at first boot), and nothing
    /// sets a password.</summary>
    [Fact]
    public void Ssh_WithoutKeys_NoHostKeyIsShipped_AndNoPasswordIsSet()
    {
        using var mirror = new TempFolder("rmk-sshmirror");
        var p = SshProject(mirror, "", keys: false);
        var r = p.Build("-p:MicrokernelAllowSsh=true").AssertSuccess();
        Assert.DoesNotContain("RMK4128", r.Codes);
        var listing = Listing(p);
        Assert.Contains(" usr/local/etc/ssh/sshd_config\n", listing);
        Assert.DoesNotContain("ssh_host_", listing);
        Assert.DoesNotContain("home/tc/.ssh", listing);
        var hook = Read(p, "usr/local/etc/init.d/microkernel-setup");
        Assert.Contains("/usr/local/etc/init.d/openssh start", hook);
        Assert.DoesNotContain("ssh-keygen", hook);
        AssertNoPasswordIsSet(listing, hook);
    }

    private static void AssertNoPasswordIsSet(string listing, string bootHook)
    {
        Assert.DoesNotContain("passwd", listing);
        Assert.DoesNotContain("shadow", listing);
        Assert.DoesNotContain("passwd", bootHook);
        Assert.DoesNotContain("chpasswd", bootHook);
    }

    [Fact]
    public void Ssh_TheProjectsOwnConfigWinsOverTheExample()
    {
        using var mirror = new TempFolder("rmk-sshmirror");
        var p = SshProject(mirror, "<OverlayFile Include=\"sshd_config\" Destination=\"/usr/local/etc/ssh/sshd_config\" Mode=\"0600\" />");
        p.Write("sshd_config", "PasswordAuthentication no\n");
        p.Build().AssertSuccess();
        Assert.Equal("PasswordAuthentication no\n", Read(p, "usr/local/etc/ssh/sshd_config"));
        Assert.Equal("# ssh_config example\n", Read(p, "usr/local/etc/ssh/ssh_config"));
    }

    [Fact]
    public void Ssh_ProductionRefusesOpenssh_UnlessAllowed()
    {
        using var mirror = new TempFolder("rmk-sshmirror");
        var p = SshProject(mirror, "");
        p.Build("-p:MicrokernelFlavor=Production").AssertFailureWith("RMK4127");
        var allowed = p.Build("-p:MicrokernelFlavor=Production", "-p:MicrokernelAllowSsh=true").AssertSuccess();
        Assert.DoesNotContain("RMK4128", allowed.Codes);
    }

    [Fact]
    public void OverlayCopy_CopiesAFileOfTheMergedImage_AndAMissingSourceIsACodedError()
    {
        var p = SdkHarness.CreateProject("copy");
        p.Write("etc.tgz", TestArchives.Tgz(TestArchives.File("etc/motd.example", "hello\n", 0x1A4)));
        p.WithProject("""
            <ItemGroup>
              <OverlayArchive Include="etc.tgz" />
              <OverlayCopy Include="/etc/motd.example" Destination="/etc/motd" Mode="0600" Owner="tc" Group="staff" />
            </ItemGroup>
            """);
        p.Build().AssertSuccess();
        Assert.Equal("hello\n", Read(p, "etc/motd"));
        Assert.Matches(@"-rw------- tc/staff .* etc/motd\n", Listing(p));
        File.WriteAllText(p.ProjectFile, File.ReadAllText(p.ProjectFile).Replace("/etc/motd.example\" Destination", "/etc/nothing\" Destination", StringComparison.Ordinal));
        p.Build().AssertFailureWith("RMK2025");
    }
}
