#!/usr/bin/env python3
"""A FAKE Kubernetes API server for the signal benchmarks (no kube-apiserver can run here): one Node, its
status patched by strategic merge on conditions (merge by type, "$patch": "delete"), Events created and patched.
Every request is logged with its arrival time; GET /bench/log returns that log as JSON.
Usage: fake-apiserver.py PORT_FILE NODE"""
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, node_name = sys.argv[1], sys.argv[2]
lock = threading.Lock()
log = []
stamp = "2026-12-01T00:00:00Z"
node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node_name, "resourceVersion": "1"},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                   "lastTransitionTime": stamp, "lastHeartbeatTime": stamp}]}}
events = {}

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode() if length else ""

    def record(self, text):
        with lock:
            log.append({"t": time.time(), "method": self.command, "path": self.path, "body": text})

    def do_GET(self):
        if self.path == "/bench/log":
            with lock:
                return self.reply(200, log)
        self.record("")
        if self.path.startswith(f"/api/v1/nodes/{node_name}"):
            with lock:
                return self.reply(200, node)
        self.reply(404, {"kind": "Status", "code": 404, "message": "not found"})

    def do_PATCH(self):
        text = self.body()
        self.record(text)
        if self.path == f"/api/v1/nodes/{node_name}/status":
            patch = json.loads(text)
            with lock:
                conditions = node["status"]["conditions"]
                for item in patch.get("status", {}).get("conditions", []):
                    existing = next((c for c in conditions if c["type"] == item["type"]), None)
                    if item.get("$patch") == "delete":
                        if existing:
                            conditions.remove(existing)
                    elif existing:
                        existing.update(item)
                    else:
                        conditions.append(item)
                return self.reply(200, node)
        if "/events/" in self.path:
            name = self.path.rsplit("/", 1)[1]
            with lock:
                if name in events:
                    events[name].update(json.loads(text))
                    return self.reply(200, events[name])
        self.reply(404, {"kind": "Status", "code": 404, "message": "not found"})

    def do_POST(self):
        text = self.body()
        self.record(text)
        if self.path.endswith("/events"):
            event = json.loads(text)
            with lock:
                events[event["metadata"]["name"]] = event
            return self.reply(201, event)
        self.reply(404, {"kind": "Status", "code": 404, "message": "not found"})

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
