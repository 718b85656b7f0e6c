using Razor.Microkernel.Formats.Tcz;

namespace Razor.Microkernel.Formats.Tests.Tcz;

public class DependencyResolverTests
{
    private static Func<string, IReadOnlyList<string>?> Graph(params (string Name, string[] Deps)[] nodes)
    {
        var map = nodes.ToDictionary(n => n.Name, n => (IReadOnlyList<string>)n.Deps);
        return name => map.TryGetValue(name, out var d) ? d : null;
    }

    [Fact]
    public void Resolve_DepthFirst_DependenciesBeforeDependantsEachOnce()
    {
        var deps = Graph(
            ("ruby.tcz", ["gdbm.tcz", "readline.tcz", "openssl.tcz"]),
            ("readline.tcz", ["ncurses.tcz"]),
            ("gdbm.tcz", []),
            ("ncurses.tcz", []),
            ("openssl.tcz", []),
            ("bash.tcz", ["readline.tcz", "ncurses.tcz"]));
        var r = DependencyResolver.Resolve(["ruby.tcz", "bash.tcz"], deps);
        Assert.Equal(["gdbm.tcz", "ncurses.tcz", "readline.tcz", "openssl.tcz", "ruby.tcz", "bash.tcz"], r.Order);
        Assert.Empty(r.Cycles);
        Assert.Equal(["readline.tcz", "ncurses.tcz"], r.Dependencies["bash.tcz"]);
    }

    [Fact]
    public void Resolve_CallsDepsOfOncePerName()
    {
        var calls = new Dictionary<string, int>();
        var inner = Graph(("a.tcz", ["c.tcz"]), ("b.tcz", ["c.tcz"]), ("c.tcz", []));
        DependencyResolver.Resolve(["a.tcz", "b.tcz", "c.tcz"], n =>
        {
            calls[n] = calls.GetValueOrDefault(n) + 1;
            return inner(n);
        });
        Assert.All(calls.Values, v => Assert.Equal(1, v));
    }

    [Fact]
    public void Resolve_Cycle_IsReportedWithItsPathAndBroken()
    {
        var deps = Graph(("a.tcz", ["b.tcz"]), ("b.tcz", ["c.tcz"]), ("c.tcz", ["a.tcz"]));
        var r = DependencyResolver.Resolve(["a.tcz"], deps);
        Assert.Equal(["c.tcz", "b.tcz", "a.tcz"], r.Order);
        var cycle = Assert.Single(r.Cycles);
        Assert.Equal("a.tcz → b.tcz → c.tcz → a.tcz", cycle.ToString());
        Assert.Contains("a.tcz → b.tcz → c.tcz → a.tcz", Assert.Single(r.Warnings));
    }

    [Fact]
    public void Resolve_SelfDependency_IsACycle()
    {
        var r = DependencyResolver.Resolve(["a.tcz"], Graph(("a.tcz", ["a.tcz"])));
        Assert.Equal(["a.tcz"], r.Order);
        Assert.Equal("a.tcz → a.tcz", Assert.Single(r.Cycles).ToString());
    }

    [Fact]
    public void Resolve_MissingDependency_ThrowsWithTheChain()
    {
        var deps = Graph(("ruby.tcz", ["gdbm.tcz"]), ("gdbm.tcz", ["missing.tcz"]));
        var e = Assert.Throws<MissingExtensionException>(() => DependencyResolver.Resolve(["ruby.tcz"], deps));
        Assert.Equal(["ruby.tcz", "gdbm.tcz", "missing.tcz"], e.Chain);
        Assert.Equal("missing.tcz", e.Missing);
        Assert.Contains("ruby.tcz → gdbm.tcz → missing.tcz", e.Message);
    }

    [Fact]
    public void Resolve_MissingRoot_ChainIsTheRoot()
    {
        var e = Assert.Throws<MissingExtensionException>(() => DependencyResolver.Resolve(["nope.tcz"], Graph()));
        Assert.Equal(["nope.tcz"], e.Chain);
    }

    [Fact]
    public void Resolve_RootWithoutDependencies_TakesOnlyItself()
    {
        var deps = Graph(("util-linux.tcz", ["ncurses.tcz"]), ("ncurses.tcz", []), ("bash.tcz", []));
        var r = DependencyResolver.Resolve([new DependencyRoot("util-linux.tcz", IncludeDependencies: false), new DependencyRoot("bash.tcz")], deps);
        Assert.Equal(["util-linux.tcz", "bash.tcz"], r.Order);
        Assert.Empty(r.Dependencies["util-linux.tcz"]);
    }

    [Fact]
    public void Resolve_RootWithoutDependencies_NeededByAnotherRoot_GetsItsTree()
    {
        var deps = Graph(("util-linux.tcz", ["ncurses.tcz"]), ("ncurses.tcz", []), ("x.tcz", ["util-linux.tcz"]));
        var r = DependencyResolver.Resolve([new DependencyRoot("util-linux.tcz", false), new DependencyRoot("x.tcz")], deps);
        Assert.Equal(["ncurses.tcz", "util-linux.tcz", "x.tcz"], r.Order);
    }

    [Fact]
    public void Resolve_IsDeterministic()
    {
        var deps = Graph(("a.tcz", ["d.tcz", "b.tcz"]), ("b.tcz", ["d.tcz", "c.tcz"]), ("c.tcz", []), ("d.tcz", ["c.tcz"]));
        var first = DependencyResolver.Resolve(["a.tcz"], deps).Order;
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(first, DependencyResolver.Resolve(["a.tcz"], deps).Order);
        }

        Assert.Equal(["c.tcz", "d.tcz", "b.tcz", "a.tcz"], first);
    }
}
