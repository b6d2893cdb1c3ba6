#!/usr/bin/env python3
"""Writes SIZE_MIB MiB of mixed node log text to PATH: kubelet and containerd lines, kernel records, JSON log lines,
URLs and key=value settings, with a secret (bearer token, SAS URL, password, connection string, JWT, PEM key) in
about one line in a thousand. Usage: generate-mixed-log.py PATH SIZE_MIB"""
import random
import sys

path, size = sys.argv[1], int(sys.argv[2]) * 1024 * 1024
rng = random.Random(11)
b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
def rnd(n, alphabet="abcdef0123456789"): return "".join(rng.choice(alphabet) for _ in range(n))
plain = [
    lambda: f'I1120 10:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{rng.randrange(10**6):06d}    2211 kubelet.go:2400] "SyncLoop (PLEG): event for pod" pod="ns-{rng.randrange(9)}/app-{rnd(5)}" event={{"ID":"{rnd(8)}","Type":"ContainerStarted"}}',
    lambda: f'time="2025-11-20T10:00:{rng.randrange(60):02d}.{rnd(6, "0123456789")}Z" level=info msg="StartContainer for \\"{rnd(64)}\\" returns successfully"',
    lambda: f'6,{rng.randrange(10**6)},{rng.randrange(10**10)},-;eth0: renamed from veth{rnd(7)}',
    lambda: f'{{"ts":"2025-11-20T10:00:00Z","level":"info","msg":"GET /api/v1/namespaces/default/pods?limit=500 200","latencyMs":{rng.randrange(900)},"user":"system:node:aks-{rnd(6)}"}}',
    lambda: f'I1120 10:00:00.000000 2211 prober.go:107] "Probe failed" probeType="Readiness" pod="shop/web-{rnd(4)}" output="Get \\"http://10.244.{rng.randrange(255)}.{rng.randrange(255)}:8080/healthz\\": context deadline exceeded"',
    lambda: f'pulling image "myregistry.azurecr.io/web@sha256:{rnd(64)}" size={rng.randrange(10**9)} retries=3 timeout=30s',
]
secret = [
    lambda: f'round_trippers.go:466] curl -H "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ{rnd(40, b64[:-2])}.{rnd(86, b64[:-2])}" https://10.0.0.1:443/api',
    lambda: f'upload PUT https://diag{rnd(4)}.blob.core.windows.net/b/n.zip?sv=2022-11-02&sp=rw&se=2026-12-01&sig={rnd(43, b64)}%3D status=201',
    lambda: f'settings loaded password={rnd(16, b64)} retries=3',
    lambda: f'DefaultEndpointsProtocol=https;AccountName=diag;AccountKey={rnd(86, b64)}==;EndpointSuffix=core.windows.net',
    lambda: f'connect postgres://app:{rnd(12)}@db.internal:5432/orders',
    lambda: f'env DB_PASSWORD={rnd(14)} GITHUB_TOKEN=ghp_{rnd(36, b64[:-2])}',
]
with open(path, "w") as out:
    written = 0
    while written < size:
        line = (rng.choice(secret) if rng.random() < 0.001 else rng.choice(plain))() + "\n"
        out.write(line)
        written += len(line)
