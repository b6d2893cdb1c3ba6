namespace Periscope.Agent.Collectors.Kernel;

/// <summary>
/// Where the signal loop's kernel check stopped reading: the newest record time seen and the texts seen at that time.
/// syslog(2) has no sequence numbers and returns the whole ring on every read, and a replayed or device log is read
/// whole too: a record newer than the mark, or at the mark with a text not seen there, is new; everything else was
/// classified before. A record without a time cannot be placed and is never taken (it could not be told from one
/// seen before).
/// </summary>
internal sealed class KernelWatermark
{
    private DateTimeOffset? _time;
    private HashSet<string> _texts = new(StringComparer.Ordinal);
    private DateTimeOffset? _pendingTime;
    private HashSet<string> _pendingTexts = new(StringComparer.Ordinal);

    /// <summary>The committed mark: the newest record time read so far.</summary>
    public DateTimeOffset? Time => _time;

    /// <summary>True when the record is new since the last <see cref="Commit"/>.</summary>
    public bool Admit(DateTimeOffset? time, ReadOnlySpan<char> text)
    {
        if (time is not { } t)
        {
            return false;
        }

        if (_time is { } mark && (t < mark || (t == mark && _texts.GetAlternateLookup<ReadOnlySpan<char>>().Contains(text))))
        {
            return false;
        }

        if (_pendingTime is null || t > _pendingTime)
        {
            _pendingTime = t;
            _pendingTexts = new HashSet<string>(StringComparer.Ordinal) { text.ToString() };
        }
        else if (t == _pendingTime)
        {
            _pendingTexts.Add(text.ToString());
        }

        return true;
    }

    /// <summary>Moves the mark past everything admitted since the last commit (after a read that completed).</summary>
    public void Commit()
    {
        if (_pendingTime is { } newest)
        {
            if (_time == newest)
            {
                _texts.UnionWith(_pendingTexts);
            }
            else
            {
                _time = newest;
                _texts = _pendingTexts;
            }
        }

        Discard();
    }

    /// <summary>Forgets what a read that failed admitted: it is read again next time.</summary>
    public void Discard()
    {
        _pendingTime = null;
        _pendingTexts = new HashSet<string>(StringComparer.Ordinal);
    }
}
