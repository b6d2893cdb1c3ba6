using System.Buffers.Binary;
using System.Text;

namespace Periscope.Agent.Collection;

/// <summary>
/// The build information a Go toolchain (1.18 and later) embeds in every binary it links, read from the binary's
/// bytes — never by running it. It sits in the ELF section <c>.go.buildinfo</c>: a 32-byte header
/// (<c>"\xff Go buildinf:"</c>, pointer size, flags) followed, when flag 2 is set, by two length-prefixed strings:
/// the Go version and the module information (<c>path</c>, <c>mod</c>, <c>dep</c> and <c>build</c> lines, such as
/// <c>build	-ldflags=-X k8s.io/component-base/version.gitVersion=v1.29.2</c>).
/// </summary>
internal sealed record GoBuildInfo(string GoVersion, string ModuleInfo)
{
    private const int MaxSectionBytes = 4 * 1024 * 1024;
    private static readonly byte[] Magic = [0xFF, .. " Go buildinf:"u8];
    private static readonly byte[] ElfMagic = [0x7F, (byte)'E', (byte)'L', (byte)'F'];

    /// <summary>The value an <c>-X</c> linker flag gave a variable (<c>k8s.io/component-base/version.gitVersion</c>).</summary>
    public string? LinkerValue(string variable)
    {
        var key = variable + "=";
        var at = ModuleInfo.IndexOf(key, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var start = at + key.Length;
        var end = start;
        while (end < ModuleInfo.Length && !char.IsWhiteSpace(ModuleInfo[end]) && ModuleInfo[end] is not ('\'' or '"'))
        {
            end++;
        }

        return end > start ? ModuleInfo[start..end] : null;
    }

    /// <summary>Reads the build information of an ELF binary; null when it is not a 64-bit little-endian ELF Go binary.</summary>
    /// <exception cref="IOException">The stream could not be read.</exception>
    public static GoBuildInfo? Read(Stream elf)
    {
        ArgumentNullException.ThrowIfNull(elf);
        Span<byte> header = stackalloc byte[64];
        if (!TryReadAt(elf, 0, header) || !header[..4].SequenceEqual(ElfMagic) || header[4] != 2 || header[5] != 1)
        {
            return null; // not ELF64 little-endian
        }

        var sectionTable = BinaryPrimitives.ReadInt64LittleEndian(header[0x28..]);
        var entrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[0x3A..]);
        var count = BinaryPrimitives.ReadUInt16LittleEndian(header[0x3C..]);
        var namesIndex = BinaryPrimitives.ReadUInt16LittleEndian(header[0x3E..]);
        if (entrySize < 64 || count == 0 || namesIndex >= count || sectionTable <= 0)
        {
            return null;
        }

        var table = new byte[entrySize * count];
        if (!TryReadAt(elf, sectionTable, table))
        {
            return null;
        }

        var (namesOffset, namesSize) = Section(table, entrySize, namesIndex);
        if (namesSize is <= 0 or > MaxSectionBytes)
        {
            return null;
        }

        var names = new byte[namesSize];
        if (!TryReadAt(elf, namesOffset, names))
        {
            return null;
        }

        for (var i = 0; i < count; i++)
        {
            var nameOffset = BinaryPrimitives.ReadInt32LittleEndian(table.AsSpan(i * entrySize));
            if (nameOffset < 0 || nameOffset >= names.Length)
            {
                continue;
            }

            var name = names.AsSpan(nameOffset);
            var end = name.IndexOf((byte)0);
            if (end < 0 || !name[..end].SequenceEqual(".go.buildinfo"u8))
            {
                continue;
            }

            var (offset, size) = Section(table, entrySize, i);
            if (size is < 32 or > MaxSectionBytes)
            {
                return null;
            }

            var section = new byte[size];
            return TryReadAt(elf, offset, section) ? Parse(section) : null;
        }

        return null;
    }

    /// <summary>Parses the content of a <c>.go.buildinfo</c> section.</summary>
    internal static GoBuildInfo? Parse(ReadOnlySpan<byte> section)
    {
        if (section.Length < 32 || !section[..Magic.Length].SequenceEqual(Magic) || (section[15] & 2) == 0)
        {
            return null; // before Go 1.18 the strings are behind pointers into the data segment: not read
        }

        var rest = section[32..];
        var version = ReadString(ref rest);
        var modules = ReadString(ref rest);
        if (version is null || modules is null)
        {
            return null;
        }

        return new GoBuildInfo(version, modules);
    }

    private static string? ReadString(ref ReadOnlySpan<byte> data)
    {
        ulong length = 0;
        var shift = 0;
        var i = 0;
        while (true)
        {
            if (i >= data.Length || shift > 63)
            {
                return null;
            }

            var b = data[i++];
            length |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                break;
            }

            shift += 7;
        }

        if (length > (ulong)(data.Length - i))
        {
            return null;
        }

        var value = Encoding.UTF8.GetString(data.Slice(i, (int)length));
        data = data[(i + (int)length)..];
        return value;
    }

    private static (long Offset, long Size) Section(byte[] table, int entrySize, int index)
    {
        var entry = table.AsSpan(index * entrySize, entrySize);
        return (BinaryPrimitives.ReadInt64LittleEndian(entry[0x18..]), BinaryPrimitives.ReadInt64LittleEndian(entry[0x20..]));
    }

    private static bool TryReadAt(Stream stream, long offset, Span<byte> buffer)
    {
        if (offset < 0 || (stream.CanSeek && offset + buffer.Length > stream.Length))
        {
            return false;
        }

        stream.Position = offset;
        try
        {
            stream.ReadExactly(buffer);
            return true;
        }
        catch (EndOfStreamException)
        {
            return false;
        }
    }
}
