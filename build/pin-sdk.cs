// Pins projects to a packed SDK version through global.json's msbuild-sdks entry (run by build/pack.sh):
//   dotnet run build/pin-sdk.cs -- REPO VERSION [DIR…]
// REPO/samples/global.json gets the repository's .NET SDK selection and the version; each DIR/global.json keeps what it
// has and gets only the msbuild-sdks entry set.
// Not published ahead of time (a file-based app's default): so its restore needs no package at all (no ILCompiler or
// runtime pack), and packing works offline on a machine whose packages folder holds only what the repository uses.
#:property PublishAot=false
using System.Text.Json;
using System.Text.Json.Nodes;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: dotnet run build/pin-sdk.cs -- REPO VERSION [DIR…]");
    return 2;
}

var (root, version) = (args[0], args[1]);
var options = new JsonSerializerOptions { WriteIndented = true };

var samples = new JsonObject();
if (JsonNode.Parse(File.ReadAllText(Path.Combine(root, "global.json")))?["sdk"] is JsonNode sdk)
{
    samples["sdk"] = sdk.DeepClone();
}

samples["msbuild-sdks"] = new JsonObject { ["Razor.Microkernel.Sdk"] = version };
File.WriteAllText(Path.Combine(root, "samples", "global.json"), samples.ToJsonString(options) + "\n");

foreach (var dir in args[2..])
{
    var path = Path.Combine(dir, "global.json");
    JsonObject data;
    try
    {
        data = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not an object") : new JsonObject();
    }
    catch (JsonException e)
    {
        Console.Error.WriteLine($"build/pack.sh: {path} is not plain JSON ({e.Message}); set \"msbuild-sdks\": {{ \"Razor.Microkernel.Sdk\": \"{version}\" }} in it by hand");
        return 1;
    }

    if (data["msbuild-sdks"] is not JsonObject sdks)
    {
        data["msbuild-sdks"] = sdks = new JsonObject();
    }

    sdks["Razor.Microkernel.Sdk"] = version;
    File.WriteAllText(path, data.ToJsonString(options) + "\n");
}

return 0;
