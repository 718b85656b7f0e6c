using Razor.Microkernel.Formats.Mcollective;

namespace Razor.Microkernel.Formats.Tests.Mcollective;

public class ServerConfigKeysTests
{
    [Fact]
    public void CoreKeys_AreExactlyMcollective121s()
    {
        string[] reference =
        [
            "topicprefix", "topicsep", "main_collective", "collectives", "libdir", "logfile", "loglevel", "logger_type",
            "keeplogs", "max_log_size", "identity", "daemonize", "registerinterval", "registration", "securityprovider",
            "factsource", "connector", "classesfile", "rpcaudit", "rpcauditprovider", "rpcauthorization", "rpcauthprovider",
            "rpchelptemplate", "rpclimitmethod", "fact_cache_time", "color", "ssl_cipher",
        ];
        Assert.Equal(reference.Order(StringComparer.Ordinal), ServerConfigKeys.CoreKeys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("daemonize", ServerConfigValueType.Boolean)]
    [InlineData("color", ServerConfigValueType.Boolean)]
    [InlineData("rpcaudit", ServerConfigValueType.Boolean)]
    [InlineData("rpcauthorization", ServerConfigValueType.Boolean)]
    [InlineData("keeplogs", ServerConfigValueType.Integer)]
    [InlineData("max_log_size", ServerConfigValueType.Integer)]
    [InlineData("registerinterval", ServerConfigValueType.Integer)]
    [InlineData("fact_cache_time", ServerConfigValueType.Integer)]
    [InlineData("plugin.stomp.port", ServerConfigValueType.Port)]
    [InlineData("plugin.stomp.pool.port12", ServerConfigValueType.Port)]
    [InlineData("loglevel", ServerConfigValueType.Enum)]
    [InlineData("logger_type", ServerConfigValueType.Enum)]
    [InlineData("rpclimitmethod", ServerConfigValueType.Enum)]
    [InlineData("collectives", ServerConfigValueType.CollectiveList)]
    [InlineData("identity", ServerConfigValueType.Identity)]
    [InlineData("libdir", ServerConfigValueType.AbsolutePathList)]
    [InlineData("plugin.yaml", ServerConfigValueType.AbsolutePath)]
    [InlineData("plugin.stomp.pool.portx", ServerConfigValueType.Text)]
    [InlineData("plugin.stomp.host", ServerConfigValueType.Text)]
    [InlineData("ssl_cipher", ServerConfigValueType.Text)]
    public void TypeOf_KnowsTheTypedKeys(string key, ServerConfigValueType type) => Assert.Equal(type, ServerConfigKeys.TypeOf(key));

    [Theory]
    [InlineData("plugin.x", true)]
    [InlineData("plugin.stomp.pool.host1", true)]
    [InlineData("loglevel", true)]
    [InlineData("plugin.", false)]
    [InlineData("plugins.x", false)]
    [InlineData("LOGLEVEL", false)]
    [InlineData("plugin.é", false)]
    public void IsKnown(string key, bool known) => Assert.Equal(known, ServerConfigKeys.IsKnown(key));
}
