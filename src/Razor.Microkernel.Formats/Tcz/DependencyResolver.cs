namespace Razor.Microkernel.Formats.Tcz;

/// <summary>An extension the project asks for, and whether its <c>.dep</c> tree comes with it.</summary>
public sealed record DependencyRoot(string Name, bool IncludeDependencies = true);

/// <summary>A dependency cycle that was broken: <see cref="Path"/> starts and ends with the same name
/// (<c>a.tcz → b.tcz → a.tcz</c>); the last edge was ignored.</summary>
public sealed record DependencyCycle(IReadOnlyList<string> Path)
{
    public override string ToString() => string.Join(" → ", Path);
}

/// <summary>The install order: dependencies before dependants, each once.</summary>
public sealed record DependencyResolution(
    IReadOnlyList<string> Order,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Dependencies,
    IReadOnlyList<DependencyCycle> Cycles)
{
    /// <summary>One human-readable warning per broken cycle.</summary>
    public IReadOnlyList<string> Warnings => Cycles
        .Select(c => $"Dependency cycle {c}; the dependency of '{c.Path[^2]}' on '{c.Path[^1]}' is ignored.")
        .ToList();
}

/// <summary>tce-load's resolution: depth-first, in <c>.dep</c> file order and root order, dependencies before
/// dependants, each extension once; a cycle is reported and broken, a missing extension is an error with the chain.</summary>
public static class DependencyResolver
{
    public const int MaxDepth = 1000;

    public static DependencyResolution Resolve(IEnumerable<string> roots, Func<string, IReadOnlyList<string>?> depsOf)
        => Resolve(roots.Select(r => new DependencyRoot(r)), depsOf);

    /// <param name="roots">Normalised names (<c>NAME.tcz</c>) in project order.</param>
    /// <param name="depsOf">The normalised dependencies of an extension, or <c>null</c> when the extension does not
    /// exist. Called at most once per name.</param>
    /// <exception cref="MissingExtensionException">A root or a dependency does not exist; the chain names the way to it.</exception>
    public static DependencyResolution Resolve(IEnumerable<DependencyRoot> roots, Func<string, IReadOnlyList<string>?> depsOf)
    {
        ArgumentNullException.ThrowIfNull(roots);
        ArgumentNullException.ThrowIfNull(depsOf);
        var rootList = roots.ToList();
        var known = new Dictionary<string, IReadOnlyList<string>?>(StringComparer.Ordinal);

        IReadOnlyList<string> Deps(string name, List<string> chain)
        {
            if (!known.TryGetValue(name, out var deps))
            {
                deps = depsOf(name);
                known[name] = deps;
            }

            return deps ?? throw new MissingExtensionException([.. chain, name], []);
        }

        // Pass 1: which extensions have their dependencies followed. A root without dependencies that some
        // other root needs (directly or not) still gets its tree: the other root needs it complete.
        var expanded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var root in rootList.Where(r => r.IncludeDependencies))
        {
            var chain = new List<string>();
            Expand(root.Name);

            void Expand(string name)
            {
                Deps(name, chain);
                if (!expanded.Add(name))
                {
                    return;
                }

                if (chain.Count >= MaxDepth)
                {
                    throw new FormatLimitException("dependency depth", chain.Count, MaxDepth);
                }

                chain.Add(name);
                foreach (var d in known[name]!)
                {
                    Expand(d);
                }

                chain.RemoveAt(chain.Count - 1);
            }
        }

        // Pass 2: the order, depth-first post-order.
        var order = new List<string>();
        var done = new HashSet<string>(StringComparer.Ordinal);
        var cycles = new List<DependencyCycle>();
        var stack = new List<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        foreach (var root in rootList)
        {
            Visit(root.Name);
        }

        void Visit(string name)
        {
            if (done.Contains(name))
            {
                return;
            }

            if (onStack.Contains(name))
            {
                var start = stack.IndexOf(name);
                cycles.Add(new DependencyCycle([.. stack.Skip(start), name]));
                return;
            }

            var deps = Deps(name, stack);
            stack.Add(name);
            onStack.Add(name);
            if (expanded.Contains(name))
            {
                foreach (var d in deps)
                {
                    Visit(d);
                }
            }

            stack.RemoveAt(stack.Count - 1);
            onStack.Remove(name);
            done.Add(name);
            order.Add(name);
        }

        var dependencies = order.ToDictionary(
            n => n,
            n => expanded.Contains(n) ? known[n]! : (IReadOnlyList<string>)[],
            StringComparer.Ordinal);
        return new DependencyResolution(order, dependencies, cycles);
    }
}
