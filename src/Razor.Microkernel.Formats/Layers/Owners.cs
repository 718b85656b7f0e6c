using System.Globalization;

namespace Razor.Microkernel.Formats.Layers;

/// <summary>Users and groups of a Tiny Core Linux system (root 0/0, tc 1001, staff 50), and parsing of
/// <c>Owner</c>/<c>Group</c>/<c>Mode</c> values written in project files.</summary>
public static class Owners
{
    private static readonly Dictionary<string, int> Users = new(StringComparer.Ordinal) { ["root"] = 0, ["tc"] = 1001 };
    private static readonly Dictionary<string, int> Groups = new(StringComparer.Ordinal) { ["root"] = 0, ["staff"] = 50 };

    public static IReadOnlyCollection<string> UserNames => Users.Keys;

    public static IReadOnlyCollection<string> GroupNames => Groups.Keys;

    /// <summary>Resolves a user name or number. A number that names a known user gets that name.</summary>
    public static (int Id, string Name) ResolveUser(string value) => Resolve("Owner", value, Users);

    public static (int Id, string Name) ResolveGroup(string value) => Resolve("Group", value, Groups);

    /// <summary>The ownership for optional Owner and Group values (root when both are empty).</summary>
    public static Ownership Parse(string? owner, string? group)
    {
        var (uid, uname) = string.IsNullOrWhiteSpace(owner) ? (0, "root") : ResolveUser(owner.Trim());
        var (gid, gname) = string.IsNullOrWhiteSpace(group) ? (0, "root") : ResolveGroup(group.Trim());
        return new Ownership(uid, gid, uname, gname);
    }

    /// <summary>Parses an octal mode such as <c>755</c>, <c>0755</c> or <c>4755</c>.</summary>
    public static int ParseMode(string value)
    {
        var text = value.Trim();
        if (text.Length is 0 or > 5 || !text.All(c => c is >= '0' and <= '7'))
        {
            throw new InvalidAttributeException("Mode", value, "expected an octal number from 0 to 7777, such as 0755");
        }

        var mode = Convert.ToInt32(text, 8);
        if (mode > 0xFFF)
        {
            throw new InvalidAttributeException("Mode", value, "expected an octal number from 0 to 7777, such as 0755");
        }

        return mode;
    }

    public static string NameOfUser(int uid) => Users.FirstOrDefault(p => p.Value == uid).Key ?? string.Empty;

    public static string NameOfGroup(int gid) => Groups.FirstOrDefault(p => p.Value == gid).Key ?? string.Empty;

    private static (int, string) Resolve(string attribute, string value, Dictionary<string, int> table)
    {
        if (table.TryGetValue(value, out var id))
        {
            return (id, value);
        }

        if (value.Length > 0 && value.All(char.IsAsciiDigit)
            && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out id))
        {
            return (id, table.FirstOrDefault(p => p.Value == id).Key ?? string.Empty);
        }

        throw new InvalidAttributeException(attribute, value,
            $"use a number or one of {string.Join(", ", table.Keys)}");
    }
}
