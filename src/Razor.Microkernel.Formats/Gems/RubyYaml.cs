using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Razor.Microkernel.Formats.Gems;

/// <summary>A YAML node as Ruby's loaders (Psych over libyaml, Syck before it) build it. An alias is the very node
/// its anchor names, shared and never copied, so that a few hundred bytes of nested aliases stay a few hundred
/// nodes; whoever walks the tree bounds the walk (<see cref="RubyYamlBudget"/>).</summary>
internal abstract class RubyYamlNode(string tag)
{
    /// <summary>The node's tag (<c>!binary</c>, <c>!ruby/object:Gem::Version</c> …); empty when it has none or only
    /// the non-specific <c>!</c>.</summary>
    public string Tag { get; } = tag;
}

internal sealed class RubyYamlScalar(string tag, string value, ScalarStyle style) : RubyYamlNode(tag)
{
    public string Value { get; } = value;

    public ScalarStyle Style { get; } = style;

    /// <summary>Plain and untagged: its meaning (null, true, an integer, a symbol …) is resolved from its text.</summary>
    public bool IsPlain => (Style is ScalarStyle.Plain or ScalarStyle.Any) && Tag.Length == 0;
}

internal sealed class RubyYamlSequence(string tag) : RubyYamlNode(tag)
{
    public List<RubyYamlNode> Items { get; } = [];
}

/// <summary>A mapping with its pairs in document order. A key given twice is kept twice; readers take the last, as
/// Ruby's Hash and object loaders do.</summary>
internal sealed class RubyYamlMapping(string tag) : RubyYamlNode(tag)
{
    public List<KeyValuePair<RubyYamlNode, RubyYamlNode>> Pairs { get; } = [];

    /// <summary>The value of the last pair whose key is the plain text <paramref name="key"/>.</summary>
    public RubyYamlNode? this[string key]
    {
        get
        {
            for (var i = Pairs.Count - 1; i >= 0; i--)
            {
                if (Pairs[i].Key is RubyYamlScalar s && s.Value == key)
                {
                    return Pairs[i].Value;
                }
            }

            return null;
        }
    }
}

/// <summary>
/// Loads the first YAML document of a text the way Ruby reads gem metadata and checksums. YamlDotNet scans the
/// text; this builds the tree itself so that aliases stay shared references (no alias is expanded and no key is
/// hashed, so alias bombs cost nothing here), repeated keys and re-defined anchors behave as in libyaml, an alias
/// to a node that contains it is refused, and nesting is bounded. Where YamlDotNet refuses YAML that libyaml
/// (and so Ruby) reads, the text is repaired at the place the scanner names; see <see cref="TryRepair"/>.
/// </summary>
internal static class RubyYaml
{
    /// <summary>Deeper nesting is refused; real gem metadata nests six levels.</summary>
    public const int MaxDepth = 256;

    /// <summary>At most this many repairs per document (each re-reads the text). Real metadata needs one per block
    /// scalar (description, post_install_message …).</summary>
    private const int MaxRepairs = 16;

    /// <summary>The root of the first document, or null when the text holds no document.</summary>
    /// <exception cref="YamlException">The text is not YAML that Ruby reads.</exception>
    public static RubyYamlNode? Load(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        for (var repairs = 0; ; repairs++)
        {
            try
            {
                return Parse(yaml);
            }
            catch (SemanticErrorException e) when (repairs < MaxRepairs && TryRepair(ref yaml, e))
            {
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or FormatException
                                          or OverflowException)
            {
                // YamlDotNet's scanner gives up on some malformed input (a flow sequence continued below its key's
                // column) with a plain exception rather than a YamlException.
                throw new YamlException(Mark.Empty, Mark.Empty, $"the YAML cannot be read ({e.Message})", e);
            }
        }
    }

    private static RubyYamlNode? Parse(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var anchors = new Dictionary<string, RubyYamlNode>(StringComparer.Ordinal);
        var open = new List<(RubyYamlNode Node, RubyYamlNode? PendingKey)>();
        var inProgress = new HashSet<RubyYamlNode>(ReferenceEqualityComparer.Instance);
        RubyYamlNode? root = null;
        var inDocument = false;
        while (true)
        {
            try
            {
                if (!parser.MoveNext())
                {
                    break;
                }
            }
            catch (YamlException) when (root is not null && open.Count == 0)
            {
                // libyaml ends the first document as soon as its root node is complete, without reading on, and Ruby
                // reads only that document: what follows it cannot make the text unreadable.
                return root;
            }

            var ev = parser.Current!;
            RubyYamlNode? complete = null;
            switch (ev)
            {
                case DocumentStart:
                    inDocument = true;
                    continue;
                case DocumentEnd:
                    return root;
                case StreamStart or StreamEnd or Comment:
                    continue;
                case Scalar s:
                    complete = new RubyYamlScalar(TagOf(s.Tag), s.Value, s.Style);
                    Anchor(anchors, s.Anchor, complete);
                    break;
                case SequenceStart q:
                    Open(new RubyYamlSequence(TagOf(q.Tag)), q.Anchor, q.Start);
                    continue;
                case MappingStart m:
                    Open(new RubyYamlMapping(TagOf(m.Tag)), m.Anchor, m.Start);
                    continue;
                case SequenceEnd or MappingEnd:
                    complete = open[^1].Node;
                    open.RemoveAt(open.Count - 1);
                    inProgress.Remove(complete);
                    break;
                case AnchorAlias a:
                    if (!anchors.TryGetValue(a.Value.Value, out complete))
                    {
                        throw new YamlException(a.Start, a.End, $"the alias *{a.Value.Value} names no anchor before it");
                    }

                    if (inProgress.Contains(complete))
                    {
                        throw new YamlException(a.Start, a.End, $"the alias *{a.Value.Value} refers to a node that contains it");
                    }

                    break;
                default:
                    throw new YamlException(ev.Start, ev.End, $"unexpected YAML event {ev.GetType().Name}");
            }

            if (!inDocument)
            {
                throw new YamlException(ev.Start, ev.End, "content outside a document");
            }

            Add(complete);
        }

        return root;

        void Open(RubyYamlNode node, AnchorName anchor, Mark at)
        {
            if (open.Count >= MaxDepth)
            {
                throw new YamlException(at, at, $"the YAML nests deeper than {MaxDepth} levels");
            }

            Anchor(anchors, anchor, node); // libyaml names the node before its content: an alias inside it is recursion
            inProgress.Add(node);
            open.Add((node, null));
        }

        void Add(RubyYamlNode node)
        {
            if (open.Count == 0)
            {
                root = node;
                return;
            }

            var (parent, pendingKey) = open[^1];
            if (parent is RubyYamlSequence seq)
            {
                seq.Items.Add(node);
            }
            else if (pendingKey is null)
            {
                open[^1] = (parent, node);
            }
            else
            {
                ((RubyYamlMapping)parent).Pairs.Add(new(pendingKey, node));
                open[^1] = (parent, null);
            }
        }
    }

    private static void Anchor(Dictionary<string, RubyYamlNode> anchors, AnchorName anchor, RubyYamlNode node)
    {
        if (!anchor.IsEmpty)
        {
            anchors[anchor.Value] = node; // libyaml lets a later anchor of one name replace the earlier one
        }
    }

    private static string TagOf(TagName tag) => tag.IsEmpty || tag.IsNonSpecific ? string.Empty : tag.Value;

    /// <summary>
    /// The one place where YamlDotNet refuses what libyaml reads, in metadata written by Syck (RubyGems 1.3–1.8 on
    /// Ruby 1.8): a block scalar whose first lines hold only spaces (<c>post_install_message: |+</c>, then a line of
    /// two spaces, then text indented two). libyaml eats every space of such leading lines, takes the deepest of them
    /// (and of the first text line) as the indentation, and keeps one line break per line; YamlDotNet refuses any
    /// first line of two or more spaces. Emptying those lines means exactly what libyaml reads, as long as none of
    /// them is deeper than the first text line (libyaml then ends the scalar there, and the YAML fails in Ruby too),
    /// so only then is the text repaired; the caller reads it again.
    /// </summary>
    private static bool TryRepair(ref string yaml, SemanticErrorException e)
    {
        if (!e.Message.Contains("found extra spaces in first line", StringComparison.Ordinal))
        {
            return false;
        }

        // The scanner stops at the start of the first line that holds more than spaces (or at the end).
        var contentStart = (int)Math.Clamp(e.Start.Index, 0, yaml.Length);
        if (contentStart > 0 && yaml[contentStart - 1] != '\n')
        {
            return false;
        }

        var indent = 0;
        while (contentStart + indent < yaml.Length && yaml[contentStart + indent] == ' ')
        {
            indent++;
        }

        var atEnd = contentStart + indent >= yaml.Length || yaml[contentStart + indent] is '\r' or '\n';
        var blank = new List<(int Start, int Length)>();
        var lineStart = contentStart;
        while (lineStart > 0)
        {
            var end = lineStart - 1; // the '\n' that ends the line above
            var start = end == 0 ? 0 : yaml.LastIndexOf('\n', end - 1) + 1;
            var length = end - start;
            if (length > 0 && yaml[start + length - 1] == '\r')
            {
                length--;
            }

            if (length > 0 && yaml.AsSpan(start, length).ContainsAnyExcept(' '))
            {
                break; // the block scalar's header line
            }

            if (length > 0)
            {
                blank.Add((start, length));
            }

            lineStart = start;
        }

        if (blank.Count == 0 || (!atEnd && indent > 0 && blank.Exists(b => b.Length > indent)))
        {
            return false;
        }

        var repaired = new System.Text.StringBuilder(yaml.Length);
        var at = 0;
        foreach (var (start, length) in blank.OrderBy(b => b.Start))
        {
            repaired.Append(yaml, at, start - at);
            at = start + length;
        }

        repaired.Append(yaml, at, yaml.Length - at);
        yaml = repaired.ToString();
        return true;
    }
}

/// <summary>How much of a YAML tree a reader may visit, counting every visit of a shared (aliased) node again: the
/// bound that keeps an alias bomb (<c>&amp;a1 [*a0, *a0 …]</c>, ten levels) from becoming a billion values.</summary>
internal sealed class RubyYamlBudget(long maxNodes, long maxScalarChars)
{
    private long _nodes;
    private long _chars;

    public long MaxNodes { get; } = maxNodes;

    public long MaxScalarChars { get; } = maxScalarChars;

    /// <summary>Counts one visit of <paramref name="node"/>; false once a bound is passed.</summary>
    public bool TryVisit(RubyYamlNode node)
    {
        _nodes++;
        if (node is RubyYamlScalar s)
        {
            _chars += s.Value.Length;
        }

        return _nodes <= MaxNodes && _chars <= MaxScalarChars;
    }

    public long Nodes => _nodes;

    public long ScalarChars => _chars;
}
