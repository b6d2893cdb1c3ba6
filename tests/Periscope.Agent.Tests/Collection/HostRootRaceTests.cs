using Periscope.Agent.Collection;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Collection;

/// <summary>
/// Reads under the host root cannot be raced: while a swapper thread flips a file (and its directory) between a
/// regular file, a symbolic link to outside the root (absolute and relative) and a FIFO, every read either returns
/// the file inside the root or fails at once — never the content outside, never a hang. Both resolvers run: the
/// kernel's <c>openat2</c> and the component walk used where it is missing.
/// </summary>
public sealed class HostRootRaceTests
{
    private const string Inside = "INSIDE";
    private const string Secret = "SECRET-OUTSIDE-THE-ROOT";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task OpenRead_WhileTheFileIsSwapped_NeverReadsOutsideAndNeverBlocks(bool emulateOpenat2)
    {
        using var outside = new TempDirectory();
        var secretDir = outside.Combine("secret-dir");
        Directory.CreateDirectory(secretDir);
        await File.WriteAllTextAsync(Path.Combine(secretDir, "kubelet.log"), Secret);
        await File.WriteAllTextAsync(outside.Combine("shadow"), Secret);
        using var root = new NodeRoot().File("/var/log/kubelet.log", Inside);
        var host = new HostRoot(root.Path, emulateOpenat2);
        var file = root.Real("/var/log/kubelet.log");
        var directory = root.Real("/var/log");
        var depth = "../../../../../../../../../../../../../../..";

        using var stop = new CancellationTokenSource();
        var swaps = 0;
        var swapper = Task.Factory.StartNew(() =>
        {
            var step = 0;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    switch (step++ % 6)
                    {
                        case 0:
                            WriteAtomically(file, Inside);
                            break;
                        case 1:
                            Replace(file, () => File.CreateSymbolicLink(file, outside.Combine("shadow"))); // absolute: re-rooted
                            break;
                        case 2:
                            Replace(file, () => File.CreateSymbolicLink(file, depth + outside.Combine("shadow"))); // relative: clamped at the root
                            break;
                        case 3:
                            Replace(file, () => MkFifo(file));
                            break;
                        case 4:
                            // The directory itself becomes a link to a directory outside holding a file of that name.
                            var saved = directory + ".saved";
                            Directory.Move(directory, saved);
                            try
                            {
                                Directory.CreateSymbolicLink(directory, depth + secretDir);
                                Thread.Sleep(1);
                            }
                            finally
                            {
                                if (new FileInfo(directory).LinkTarget is not null)
                                {
                                    File.Delete(directory);
                                }

                                Directory.Move(saved, directory);
                            }

                            break;
                        default:
                            WriteAtomically(file, Inside);
                            break;
                    }

                    Interlocked.Increment(ref swaps);
                }
                catch (IOException)
                {
                    // A step that met the reader's open: next step.
                }
            }
        }, TaskCreationOptions.LongRunning);

        var read = 0;
        var refused = 0;
        try
        {
            // At least 1,500 reads across at least 300 swaps, and both outcomes seen; bounded in time.
            var bound = DateTime.UtcNow.AddSeconds(60);
            for (var i = 0; (i < 1500 || Volatile.Read(ref swaps) < 300 || read == 0 || refused == 0) && DateTime.UtcNow < bound; i++)
            {
                var attempt = Task.Run(() =>
                {
                    try
                    {
                        using var stream = host.OpenRead("/var/log/kubelet.log");
                        using var reader = new StreamReader(stream);
                        return reader.ReadToEnd();
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        return null;
                    }
                }, TestContext.Current.CancellationToken);
                var text = await attempt.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
                Assert.NotEqual(Secret, text);
                if (text is null)
                {
                    refused++;
                }
                else
                {
                    Assert.Equal(Inside, text);
                    read++;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await swapper;
        }

        Assert.True(swaps >= 300, $"only {swaps} swaps");
        Assert.True(read > 0 && refused > 0, $"read {read}, refused {refused}: the race was not exercised");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task OpenCharacterDevice_WhileKmsgIsSwappedForALinkToAFile_NeverReadsTheFile(bool emulateOpenat2)
    {
        Requires.Root(); // mknod
        using var outside = new TempDirectory();
        await File.WriteAllTextAsync(outside.Combine("fake-kmsg"), "6,1,100,-;" + Secret + "\n", TestContext.Current.CancellationToken);
        using var root = new NodeRoot().Dir("/dev");
        var kmsg = root.Real("/dev/kmsg");
        var host = new HostRoot(root.Path, emulateOpenat2);
        var devices = 0;
        var refused = 0;
        for (var i = 0; i < 200; i++)
        {
            File.Delete(kmsg);
            if (i % 2 == 0)
            {
                var made = await TestProcess.RunAsync("mknod", kmsg, "c", "1", "3"); // /dev/null's numbers: reads end at once
                Assert.Equal(0, made.ExitCode);
            }
            else
            {
                File.CreateSymbolicLink(kmsg, i % 4 == 1 ? outside.Combine("fake-kmsg") : "../../../../../../../.." + outside.Combine("fake-kmsg"));
            }

            try
            {
                using var device = host.OpenCharacterDevice("/dev/kmsg");
                using var stream = new FileStream(device, FileAccess.Read, 0);
                Assert.Equal(0, stream.Read(new byte[64]));
                devices++;
            }
            catch (IOException)
            {
                refused++;
            }
        }

        Assert.Equal(100, devices);
        Assert.Equal(100, refused); // the links (absolute: re-rooted, relative: stops at the root) never reach the file
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task OpenRead_AbsoluteLinkInsideTheRoot_IsFollowedUnderTheRoot(bool emulateOpenat2)
    {
        using var root = new NodeRoot()
            .File("/var/lib/kubelet/pki/kubelet-client-2026.pem", "node cert")
            .Symlink("/var/lib/kubelet/pki/kubelet-client-current.pem", "/var/lib/kubelet/pki/kubelet-client-2026.pem")
            .Symlink("/etc/kubelet", "../var/lib/kubelet");
        var host = new HostRoot(root.Path, emulateOpenat2);

        Assert.Equal("node cert", await host.TryReadTextAsync("/etc/kubelet/pki/kubelet-client-current.pem", 1024, CancellationToken.None));
        Assert.Equal("node cert", await host.TryReadTextAsync(root.Real("/var/lib/kubelet/pki/kubelet-client-current.pem"), 1024, CancellationToken.None));
        Assert.Null(await host.TryReadTextAsync("/var/lib/kubelet/pki/missing.pem", 1024, CancellationToken.None));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OpenRead_LinkLoop_FailsWithAReason(bool emulateOpenat2)
    {
        using var root = new NodeRoot().Symlink("/etc/a", "/etc/b").Symlink("/etc/b", "/etc/a");
        var host = new HostRoot(root.Path, emulateOpenat2);

        var error = Assert.ThrowsAny<IOException>(() => host.OpenRead("/etc/a"));

        Assert.Contains("/etc/a", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A regular file appears whole (written beside it, then renamed over whatever is there).</summary>
    private static void WriteAtomically(string path, string text)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }

    private static void Replace(string path, Action create)
    {
        var kind = StoreKind(path);
        if (kind is not null)
        {
            File.Delete(path);
        }

        create();
    }

    private static string? StoreKind(string path)
    {
        try
        {
            return File.GetAttributes(path).ToString();
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return new FileInfo(path).LinkTarget is null ? null : "link";
        }
    }

    private static void MkFifo(string path)
    {
        if (MkFifoNative(path, 0x1B6) != 0)
        {
            throw new IOException("mkfifo failed");
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MkFifoNative([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, uint mode);
}
