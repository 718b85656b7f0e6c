using System.Text.Json;
using Razor.Microkernel.Formats.Mcollective;
using Razor.Microkernel.TestSupport;

namespace Razor.Microkernel.Formats.Tests.Mcollective;

/// <summary>Shared fixtures: the manual procedure's file, and MCollective 1.2.1's config loop run by real Ruby.</summary>
internal static class McollectiveTestSupport
{
    public const string ExamplePsk = "klot2oj2ked2tayn3hu5on7l";
    public const string ExamplePassword = "iwillchangethispassword";

    /// <summary>The server.cfg of the manual procedure (seeds/), byte for byte.</summary>
    public const string ProcedureServerCfg =
        "topicprefix = /topic/\n" +
        "main_collective = mcollective\n" +
        "collectives = mcollective\n" +
        "libdir = /usr/local/mcollective/plugins\n" +
        "logfile = /var/log/mcollective.log\n" +
        "loglevel = info\n" +
        "daemonize = 1\n" +
        "\n" +
        "# Plugins\n" +
        "securityprovider = psk\n" +
        "plugin.psk = klot2oj2ked2tayn3hu5on7l\n" +
        "connector = stomp\n" +
        "\n" +
        "plugin.stomp.host = ubuntu-server\n" +
        "plugin.stomp.port = 6163\n" +
        "plugin.stomp.user = mcollective\n" +
        "plugin.stomp.password = iwillchangethispassword\n" +
        "\n" +
        "# Facts\n" +
        "factsource = yaml\n" +
        "plugin.yaml = /usr/local/etc/mcollective/facts.yaml\n";

    public static ServerConfigInputs Host(string host = "razor-server") => new() { StompHost = host };

    public static McollectiveSecrets Secrets(string? psk = "0123456789abcdefPSK", string? password = "0123456789abcdefPASS")
        => new(psk, SecretSource.Environment, password, SecretSource.Environment);

    public static ServerConfigException BuildFails(ServerConfigInputs? inputs, params (string, string)[] overrides)
        => Assert.Throws<ServerConfigException>(() => ServerConfigBuilder.Build(inputs ?? Host(), overrides, null));

    public static ServerConfigProblem Single(ServerConfigException e, ServerConfigProblemKind kind)
    {
        var p = Assert.Single(e.Problems);
        Assert.Equal(kind, p.Kind);
        return p;
    }

    /// <summary>The loop of MCollective 1.2.1's <c>Config#loadconfig</c>, its regular expressions verbatim, run by
    /// the real Ruby on each file; returns what it read (or the first unknown key, which the daemon refuses).</summary>
    private const string RubyLoadConfig = """
        require 'json'
        KNOWN = %w[topicprefix topicsep main_collective collectives logfile loglevel logger_type keeplogs
                   max_log_size identity daemonize registerinterval registration classesfile rpcaudit
                   rpcauditprovider rpcauthorization rpcauthprovider rpchelptemplate rpclimitmethod
                   fact_cache_time color ssl_cipher securityprovider connector factsource]
        BOOLS = %w[daemonize color rpcaudit rpcauthorization]
        out = ARGV.map do |file|
          values = {}; libdir = []; plugin = {}; error = nil
          File.open(file, "r:UTF-8").each do |line|
            line = line.dup
            line.gsub!(/\s*$/, "")
            unless line =~ /^#|^$/
              if (line =~ /(.+?)\s*=\s*(.+)/)
                key = $1
                val = $2
                case key
                when "libdir"
                  val.split(/:/).each { |p| libdir << p }
                when *KNOWN
                  values[key] = val
                when /^plugin.(.+)$/
                  values[key] = val
                  plugin[$1] = val
                else
                  error = key
                  break
                end
              end
            end
          end
          bools = {}
          BOOLS.each { |b| bools[b] = (values[b] =~ /^1|y/i) ? true : false if values.key?(b) }
          collectives = values.key?("collectives") ? values["collectives"].split(",").map { |c| c.strip } : ["mcollective"]
          { "values" => values, "libdir" => libdir, "plugin" => plugin, "bools" => bools, "collectives" => collectives, "error" => error }
        end
        print JSON.generate(out)
        """;

    public sealed record RubyRead(
        Dictionary<string, string> Values, List<string> LibDir, Dictionary<string, string> Plugin,
        Dictionary<string, bool> Bools, List<string> Collectives, string? Error);

    public static IReadOnlyList<RubyRead> ReadWithRuby(IReadOnlyList<string> files)
    {
        using var tmp = new TempFolder();
        var script = tmp.Write("loadconfig.rb", RubyLoadConfig);
        var result = Tool.Run("ruby", new[] { script }.Concat(files)).EnsureSuccess("ruby loadconfig.rb");
        var options = new JsonSerializerOptions { PropertyNameCaseInsensitive = true };
        return JsonSerializer.Deserialize<List<RubyRead>>(result.StdOut, options)!;
    }
}
