using System.Collections.Concurrent;

namespace Periscope.Collector.Api;

/// <summary>
/// Browser sessions that were signed out, kept until they would have expired anyway (a session's cookie is a signed
/// ticket the server does not otherwise remember). Bounded: past <see cref="Capacity"/> entries the oldest go first.
/// </summary>
internal sealed class SessionRevocations(TimeProvider time, TimeSpan lifetime)
{
    public const int Capacity = 100_000;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _revoked = new(StringComparer.Ordinal);

    public void Revoke(string sessionId)
    {
        var now = time.GetUtcNow();
        _revoked[sessionId] = now + lifetime;
        if (_revoked.Count > Capacity)
        {
            foreach (var expired in _revoked.Where(r => r.Value <= now).Select(r => r.Key).ToList())
            {
                _revoked.TryRemove(expired, out _);
            }

            foreach (var oldest in _revoked.OrderBy(r => r.Value).Take(_revoked.Count - Capacity).Select(r => r.Key).ToList())
            {
                _revoked.TryRemove(oldest, out _);
            }
        }
    }

    public bool IsRevoked(string sessionId)
        => _revoked.TryGetValue(sessionId, out var until) && until > time.GetUtcNow();
}
