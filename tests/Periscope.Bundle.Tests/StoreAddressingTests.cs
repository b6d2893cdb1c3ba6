using Xunit;

namespace Periscope.Bundle.Tests;

public sealed class StoreAddressingTests
{
    [Theory]
    [InlineData("20261123T101500Z", true)]
    [InlineData("incident-42.b_c", true)]
    [InlineData("../etc", false)]
    [InlineData(".hidden", false)]
    [InlineData("a/b", false)]
    [InlineData("", false)]
    [InlineData("x1234567890123456789012345678901234567890123456789012345678901234", false)]
    [InlineData("run-1\n", false)]
    [InlineData("run-1\r\n", false)]
    public void IsValid_RunIds_FollowTheContract(string runId, bool valid)
        => Assert.Equal(valid, RunId.IsValid(runId));

    [Theory]
    [InlineData("aks-nodepool1-0", true)]
    [InlineData("node-1\n", false)]
    [InlineData("node..x", false)]
    public void IsValid_NodeNames_FollowTheContract(string node, bool valid)
        => Assert.Equal(valid, NodeName.IsValid(node));

    [Fact]
    public void IsValid_NodeNameLength_FitsTheStatusRecordAndTemporaryNamesInA255ByteFileName()
    {
        var longest = new string('n', 242);
        Assert.True(NodeName.IsValid(longest));
        Assert.True((longest + StoreLayout.StatusSuffix).Length <= 255);
        Assert.True($".{longest}.z0a1b2c.tmp".Length <= 255);
        Assert.False(NodeName.IsValid(longest + "n"));
        Assert.Contains("242", Assert.Throws<ArgumentException>(() => NodeName.Validate(new string('n', 253))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromTime_DefaultRunId_IsUtcStartTime()
        => Assert.Equal("20261123T101500Z", RunId.FromTime(new DateTimeOffset(2026, 11, 23, 11, 15, 0, TimeSpan.FromHours(1))));

    [Fact]
    public void Validate_RunIdWithTraversal_ThrowsClearError()
    {
        var error = Assert.Throws<ArgumentException>(() => RunId.Validate("../../x"));
        Assert.Contains("[A-Za-z0-9]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Paths_FollowStoreLayout()
    {
        Assert.Equal("r1/aks-nodepool1-0.zip", StoreLayout.BundlePath("r1", "aks-nodepool1-0"));
        Assert.Equal("r1/aks-nodepool1-0.status.json", StoreLayout.StatusPath("r1", "aks-nodepool1-0"));
        Assert.Throws<ArgumentException>(() => StoreLayout.BundlePath("r1", "../n"));
    }

    [Theory]
    [InlineData("node-1.zip", "node-1", false)]
    [InlineData("node-1.status.json", "node-1", true)]
    public void TryParseFileName_KnownNames_TellNodeAndKind(string file, string node, bool isStatus)
    {
        Assert.True(StoreLayout.TryParseFileName(file, out var parsed, out var status));
        Assert.Equal(node, parsed);
        Assert.Equal(isStatus, status);
    }

    [Theory]
    [InlineData(".node.zip.123.tmp")]
    [InlineData("notes.txt")]
    public void TryParseFileName_OtherFiles_AreNotBundles(string file)
        => Assert.False(StoreLayout.TryParseFileName(file, out _, out _));

    [Fact]
    public void CheckReadable_Versions_AcceptSameMajorRefuseNewer()
    {
        Assert.Null(BundleSchema.CheckReadable("1.7", "x"));
        Assert.NotNull(BundleSchema.CheckReadable("2.0", "x"));
        Assert.NotNull(BundleSchema.CheckReadable("one", "x"));
    }
}
