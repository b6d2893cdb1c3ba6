using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Periscope.Agent.Collection;
using Periscope.Agent.Collectors.Kernel;
using Periscope.Agent.Signals;
using Periscope.Bundle;
using Periscope.Testing;
using Xunit;

namespace Periscope.Agent.Tests.Signals;

/// <summary>
/// The signal loop's passes over a replayed node: a kernel record appended to the kmsg file becomes a signal at the
/// next pass, is classified once however often the file is read again, and clears after the hold-down; a check that
/// hangs proves nothing and never runs twice at once.
/// </summary>
public sealed class SignalLoopTests : IDisposable
{
    private const string NodeName = "loop-node";
    private static readonly DateTimeOffset Boot = DateTimeOffset.Parse("2026-12-04T09:00:00Z", CultureInfo.InvariantCulture);
    private readonly FakeTimeProvider _time = new(Boot.AddHours(1));
    private readonly NodeRoot _node = new();
    private readonly SignalOptions _options = new() { HoldDown = TimeSpan.FromMinutes(5), Loop = new SignalLoopOptions { CheckTimeout = TimeSpan.FromSeconds(2) } };
    private readonly SignalTracker _tracker;

    public SignalLoopTests()
    {
        _node.File("/proc/stat", $"btime {Boot.ToUnixTimeSeconds()}\n").File("/dev/kmsg", Record(Boot.AddMinutes(10), "Linux version 6.8.0 (buildd@lcy02)"));
        _tracker = new SignalTracker(Options.Create(_options), _time);
    }

    public void Dispose() => _node.Dispose();

    private static string Record(DateTimeOffset at, string text, int priority = 2)
        => $"{priority},{at.ToUnixTimeSeconds()},{(at - Boot).Ticks / 10},-;{text}\n";

    private void Append(DateTimeOffset at, string text) => File.AppendAllText(_node.Real("/dev/kmsg"), Record(at, text));

    private readonly CountingMemory _memory = new();

    private SignalLoop Loop(params ISignalCheck[] checks)
        => new(checks, _tracker, new LocalNode(new HostRoot(_node.Path), NodeName), new HostRoot(_node.Path), new ProcessRunner(_time, NullLogger<ProcessRunner>.Instance),
            Options.Create(_options), _memory, _time, NullLogger<SignalLoop>.Instance);

    private static KernelSignalCheck KernelCheck() => new(Options.Create(new KernelCollectorOptions()));

    private bool LockupHeld()
        => _tracker.DesiredConditions(_time.GetUtcNow(), SignalMap.OwnedConditions, npd: false).Any(c => c.Type == SignalMap.KernelLockup && c.True);

    [Fact]
    public async Task KernelRecordAppended_IsASignalAtTheNextPass_ClassifiedOnce_AndClearsAfterTheHoldDown()
    {
        var check = KernelCheck();
        var loop = Loop(check);
        var ct = TestContext.Current.CancellationToken;
        await loop.PassAsync([check], NodeName, ct);
        Assert.Empty(_tracker.Evaluate(_time.GetUtcNow()).Signals);
        Assert.Contains(_tracker.DesiredConditions(_time.GetUtcNow(), SignalMap.OwnedConditions, npd: false), c => c.Type == SignalMap.KernelLockup && !c.True);

        _time.Advance(TimeSpan.FromSeconds(10));
        Append(_time.GetUtcNow().AddSeconds(-3), "watchdog: BUG: soft lockup - CPU#3 stuck for 23s! [kworker/3:1:1234]");
        Append(_time.GetUtcNow().AddSeconds(-3), "<user-facility record at the same microsecond>");
        await loop.PassAsync([check], NodeName, ct);

        var signal = Assert.Single(_tracker.Evaluate(_time.GetUtcNow()).Signals);
        Assert.Equal("KERNEL_SOFT_LOCKUP", signal.Code);
        Assert.True(LockupHeld());

        // The whole file is read again every pass: the record is not a new occurrence.
        for (var i = 0; i < 5; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            await loop.PassAsync([check], NodeName, ct);
        }

        Assert.Equal(1, _tracker.Evaluate(_time.GetUtcNow()).Signals.Single().Count);
        Assert.True(LockupHeld());

        // A second record at the same microsecond as the mark, with another text, is new.
        Append(_time.GetUtcNow().AddSeconds(-53), "watchdog: BUG: soft lockup - CPU#5 stuck for 22s! [kworker/5:0:99]");
        await loop.PassAsync([check], NodeName, ct);
        Assert.Equal(2, _tracker.Evaluate(_time.GetUtcNow()).Signals.Single().Count);

        _time.Advance(TimeSpan.FromMinutes(5));
        await loop.PassAsync([check], NodeName, ct);
        Assert.False(LockupHeld());
        Assert.Empty(_tracker.Evaluate(_time.GetUtcNow()).Signals);
    }

    [Fact]
    public async Task FirstPass_ReadsBackTheHoldDownOnly_OlderRecordsAreHistory()
    {
        Append(_time.GetUtcNow().AddMinutes(-20), "watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [a:1]");
        Append(_time.GetUtcNow().AddMinutes(-2), "Kernel panic - not syncing: Fatal exception");
        var check = KernelCheck();

        await Loop(check).PassAsync([check], NodeName, TestContext.Current.CancellationToken);

        Assert.Equal(["KERNEL_OOPS"], _tracker.Evaluate(_time.GetUtcNow()).Signals.Select(s => s.Code));
    }

    [Fact]
    public void Watermark_SameMicrosecondTexts_AreTakenOnce_AndAFailedReadIsReadAgain()
    {
        var watermark = new KernelWatermark();
        var t = Boot.AddMinutes(30);
        Assert.True(watermark.Admit(t, "a"));
        Assert.True(watermark.Admit(t, "b"));
        watermark.Commit();

        Assert.False(watermark.Admit(t.AddTicks(-10), "older"));
        Assert.False(watermark.Admit(t, "a"));
        Assert.True(watermark.Admit(t, "c"));
        Assert.False(watermark.Admit(null, "no time"));
        watermark.Discard(); // that read failed
        Assert.True(watermark.Admit(t, "c"));
        watermark.Commit();
        Assert.False(watermark.Admit(t, "c"));
        Assert.False(watermark.Admit(t, "b"));
        Assert.Equal(t, watermark.Time);
    }

    [Fact]
    public async Task HungCheck_ProvesNothing_AndIsNotStartedAgainWhileItRuns()
    {
        var hung = new HungCheck();
        var check = KernelCheck();
        var loop = Loop(hung, check);
        _tracker.Observe(SignalObservation.FromRun(_time.GetUtcNow(), [SignalTrackerTests.Finding("RUNTIME_NOT_READY")], ["containerd"]));

        var pass = loop.PassAsync([hung, check], NodeName, TestContext.Current.CancellationToken);
        await WaitAdvancingAsync(pass);
        var second = loop.PassAsync([hung, check], NodeName, TestContext.Current.CancellationToken);
        await WaitAdvancingAsync(second);

        Assert.Equal(1, hung.Started);
        Assert.Equal(SignalState.Active, _tracker.Evaluate(_time.GetUtcNow()).Signals.Single(s => s.Code == "RUNTIME_NOT_READY").State);
        Assert.Equal(3, _tracker.Observations); // the run and two passes: the kernel check still counted
        hung.Release();
    }

    [Fact]
    public async Task Memory_IsGivenBackBetweenPasses_NeverWhileACheckRuns()
    {
        var gate = new GatedCheck();
        var loop = Loop(gate);
        _memory.Gate = gate;
        var ct = TestContext.Current.CancellationToken;
        await loop.StartAsync(ct);
        try
        {
            // The first pass hangs for 30 s of the loop's time: three half-beats pass with a check running.
            await AdvanceUntilAsync(() => gate.Started == 1, TimeSpan.FromSeconds(1), 0);
            await AdvanceUntilAsync(() => false, TimeSpan.FromSeconds(1), 30);
            Assert.Equal(0, _memory.Calls);
            Assert.Equal(0, loop.Releases);

            gate.Open();
            await AdvanceUntilAsync(() => _memory.Calls >= 2 && gate.Started >= 3, TimeSpan.FromSeconds(1), 60);
            Assert.True(_memory.Calls >= 2, $"{_memory.Calls} releases after the check ended");
            Assert.Equal(0, _memory.CallsWhileRunning);
            Assert.Equal(_memory.Calls, loop.Releases);
        }
        finally
        {
            await loop.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Memory_ReleaseOff_IsNeverCalled()
    {
        _options.Loop.ReleaseMemory = false;
        var gate = new GatedCheck();
        gate.Open();
        var loop = Loop(gate);
        await loop.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            await AdvanceUntilAsync(() => loop.Passes >= 4, TimeSpan.FromSeconds(1), 60);
            Assert.True(loop.Passes >= 4);
            Assert.Equal(0, _memory.Calls);
        }
        finally
        {
            await loop.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Advances the loop's clock a step at a time (giving its timers a moment of real time after each) until <paramref name="done"/> holds or <paramref name="steps"/> were taken (0: until done, within 20 s).</summary>
    private async Task AdvanceUntilAsync(Func<bool> done, TimeSpan step, int steps)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        for (var i = 0; (steps == 0 || i < steps) && !done() && DateTime.UtcNow < deadline; i++)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
            _time.Advance(step);
        }

        await Task.Delay(50, TestContext.Current.CancellationToken);
    }

    /// <summary>Counts the loop's releases, and those made while the gated check was running.</summary>
    private sealed class CountingMemory : ILoopMemory
    {
        private int _calls;
        private int _whileRunning;

        public GatedCheck? Gate { get; set; }

        public int Calls => Volatile.Read(ref _calls);

        public int CallsWhileRunning => Volatile.Read(ref _whileRunning);

        public void ReleaseBetweenPasses()
        {
            Interlocked.Increment(ref _calls);
            if (Gate?.Running == true)
            {
                Interlocked.Increment(ref _whileRunning);
            }
        }
    }

    /// <summary>A check whose passes wait until the test opens its gate; once open, passes end at once.</summary>
    private sealed class GatedCheck : ISignalCheck
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _started;
        private int _running;

        public int Started => Volatile.Read(ref _started);

        public bool Running => Volatile.Read(ref _running) > 0;

        public string Name => "kernel.gated";

        public IReadOnlyCollection<string> Covers { get; } = [];

        public CollectorSupport CheckSupport(INodeFileSystem host) => CollectorSupport.Supported("test");

        public async Task CheckAsync(CollectionContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _started);
            Interlocked.Increment(ref _running);
            try
            {
                await _open.Task.WaitAsync(CancellationToken.None);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }

        public void Open() => _open.TrySetResult();
    }

    private async Task WaitAdvancingAsync(Task pass)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!pass.IsCompleted && DateTime.UtcNow < deadline)
        {
            _time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        await pass;
    }

    /// <summary>A check deaf to cancellation: it ends only when released.</summary>
    private sealed class HungCheck : ISignalCheck
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _started;

        public int Started => Volatile.Read(ref _started);

        public string Name => "containerd.hung";

        public IReadOnlyCollection<string> Covers { get; } = ["RUNTIME_NOT_READY"];

        public CollectorSupport CheckSupport(INodeFileSystem host) => CollectorSupport.Supported("test");

        public Task CheckAsync(CollectionContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _started);
            return _release.Task;
        }

        public void Release() => _release.TrySetResult();
    }
}
