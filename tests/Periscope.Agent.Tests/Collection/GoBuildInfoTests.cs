using System.Buffers.Binary;
using System.Text;
using Periscope.Agent.Collection;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collection;

public sealed class GoBuildInfoTests
{
    [Fact]
    public void Read_RealGoBinary_GivesItsGoVersionAndModule()
    {
        // containerd from Debian is a Go binary (the test command installs it).
        var containerd = Requires.Tool("containerd");
        using var stream = File.OpenRead(containerd);

        var info = GoBuildInfo.Read(stream);

        Assert.NotNull(info);
        Assert.StartsWith("go1.", info.GoVersion, StringComparison.Ordinal);
        Assert.Contains("containerd", info.ModuleInfo, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_KubeletLinkedWithItsVersion_GivesTheGitVersion()
    {
        var elf = Elf(BuildInfo("go1.22.5", "path\tk8s.io/kubernetes/cmd/kubelet\nmod\tk8s.io/kubernetes\t(devel)\t\nbuild\t-ldflags=\"-X 'k8s.io/component-base/version.gitVersion=v1.29.2' -X 'k8s.io/component-base/version.gitCommit=4b8e819'\"\n"));

        var info = GoBuildInfo.Read(new MemoryStream(elf));

        Assert.NotNull(info);
        Assert.Equal("go1.22.5", info.GoVersion);
        Assert.Equal("v1.29.2", info.LinkerValue("k8s.io/component-base/version.gitVersion"));
        Assert.Equal("4b8e819", info.LinkerValue("k8s.io/component-base/version.gitCommit"));
        Assert.Null(info.LinkerValue("k8s.io/component-base/version.gitMajor"));
    }

    [Theory]
    [InlineData("#!/bin/sh\necho v1.29.2\n")]
    [InlineData("")]
    [InlineData("\u007fELF garbage that is not an ELF header at all")]
    public void Read_NotAGoElf_IsNull(string content)
        => Assert.Null(GoBuildInfo.Read(new MemoryStream(Encoding.UTF8.GetBytes(content))));

    [Fact]
    public void Read_TruncatedOrLyingSectionTable_IsNull()
    {
        var elf = Elf(BuildInfo("go1.22.5", "path\tx\n"));
        BinaryPrimitives.WriteInt64LittleEndian(elf.AsSpan(0x28), elf.Length + 4096); // section table past the end

        Assert.Null(GoBuildInfo.Read(new MemoryStream(elf)));
        Assert.Null(GoBuildInfo.Read(new MemoryStream(elf[..100])));
    }

    /// <summary>A .go.buildinfo section as Go 1.18+ writes it: magic, pointer size 8, flags 2 (strings inline), two varint-prefixed strings.</summary>
    internal static byte[] BuildInfo(string goVersion, string modules)
    {
        var bytes = new List<byte> { 0xFF };
        bytes.AddRange(" Go buildinf:"u8.ToArray());
        bytes.Add(8);
        bytes.Add(2);
        bytes.AddRange(new byte[16]);
        foreach (var text in new[] { goVersion, modules })
        {
            var data = Encoding.UTF8.GetBytes(text);
            var length = (ulong)data.Length;
            do
            {
                var b = (byte)(length & 0x7F);
                length >>= 7;
                bytes.Add(length > 0 ? (byte)(b | 0x80) : b);
            }
            while (length > 0);
            bytes.AddRange(data);
        }

        return [.. bytes];
    }

    /// <summary>A minimal ELF64 little-endian file whose section table holds a null section, .go.buildinfo and .shstrtab.</summary>
    internal static byte[] Elf(byte[] buildInfo)
    {
        var names = "\0.go.buildinfo\0.shstrtab\0"u8.ToArray();
        const int headerSize = 64;
        var buildInfoOffset = headerSize;
        var namesOffset = buildInfoOffset + buildInfo.Length;
        var tableOffset = (namesOffset + names.Length + 7) / 8 * 8;
        var file = new byte[tableOffset + (3 * 64)];
        file[0] = 0x7F;
        "ELF"u8.CopyTo(file.AsSpan(1));
        file[4] = 2; // 64-bit
        file[5] = 1; // little-endian
        file[6] = 1;
        BinaryPrimitives.WriteInt64LittleEndian(file.AsSpan(0x28), tableOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(0x3A), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(0x3C), 3);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(0x3E), 2);
        buildInfo.CopyTo(file.AsSpan(buildInfoOffset));
        names.CopyTo(file.AsSpan(namesOffset));
        Section(file, tableOffset + 64, nameOffset: 1, buildInfoOffset, buildInfo.Length);
        Section(file, tableOffset + 128, nameOffset: 15, namesOffset, names.Length);
        return file;
    }

    private static void Section(byte[] file, int at, int nameOffset, long offset, long size)
    {
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(at), nameOffset);
        BinaryPrimitives.WriteInt64LittleEndian(file.AsSpan(at + 0x18), offset);
        BinaryPrimitives.WriteInt64LittleEndian(file.AsSpan(at + 0x20), size);
    }
}
