#!/usr/bin/env python3
"""A FAKE Kubernetes API server for the collector's cluster-read benchmark (no kube-apiserver can run here): paged
lists (limit and continue, as the real server pages) of NODES nodes, PODS pods (served as the server-side Table when
the client asks for it, else whole with their specs), PDBS PodDisruptionBudgets and EVENTS Node events, generated
once at start. Every request is counted; GET /bench/log returns the log as JSON.
Usage: fake-cluster.py PORT_FILE NODES PODS PDBS EVENTS"""
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

port_file, n_nodes, n_pods, n_pdbs, n_events = sys.argv[1], *map(int, sys.argv[2:6])
lock = threading.Lock()
log = []
stamp = "2026-12-01T00:00:00Z"

def node(i):
    pool = f"pool{i % 50}"
    return {"metadata": {"name": f"aks-{pool}-{i:06d}", "creationTimestamp": stamp,
                         "labels": {"kubernetes.io/os": "linux", "kubernetes.azure.com/agentpool": pool,
                                    "kubernetes.azure.com/mode": "system" if i % 50 == 0 else "user"}},
            "spec": {"unschedulable": i % 500 == 0},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "lastTransitionTime": stamp},
                                      {"type": "KernelDeadlock", "status": "True" if i % 1000 == 0 else "False", "reason": "KernelHasNoDeadlock", "lastTransitionTime": stamp}]}}

nodes = [node(i) for i in range(n_nodes)]
node_names = [n["metadata"]["name"] for n in nodes]
pods = [{"metadata": {"name": f"app{i % n_pdbs if n_pdbs else 0}-{i:07d}", "namespace": f"ns{i % 40}",
                      "labels": {"app": f"app{i % n_pdbs if n_pdbs else 0}"},
                      "ownerReferences": [{"kind": "ReplicaSet", "name": f"app{i}", "controller": True}]},
         "spec": {"nodeName": node_names[i % n_nodes], "containers": [{"name": "c", "env": [{"name": "SECRET", "value": "x" * 64}]}]},
         "status": {"phase": "Running", "podIP": "10.0.0.1"}} for i in range(n_pods)]
pdbs = [{"metadata": {"name": f"app{i}", "namespace": f"ns{i % 40}"},
         "spec": {"selector": {"matchLabels": {"app": f"app{i}"}}},
         "status": {"disruptionsAllowed": 0 if i % 10 == 0 else 1, "expectedPods": 25}} for i in range(n_pdbs)]
events = [{"metadata": {"name": f"e{i}", "namespace": "default"}, "involvedObject": {"kind": "Node", "name": node_names[i % n_nodes]},
           "reason": "NodeRebootStart" if i % 997 == 0 else "Starting", "message": "m", "source": {"component": "aks-auto-repair" if i % 997 == 0 else "kubelet"},
           "type": "Normal", "count": 1, "lastTimestamp": stamp} for i in range(n_events)]
columns = [{"name": c, "type": "string", "format": "", "description": c, "priority": 0}
           for c in ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"]]

def page(items, query):
    limit = int(query.get("limit", ["500"])[0])
    start = int(query.get("continue", ["0"])[0] or 0)
    chunk = items[start:start + limit]
    meta = {"resourceVersion": "1"}
    if start + limit < len(items):
        meta["continue"] = str(start + limit)
    return chunk, meta

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path == "/bench/log":
            with lock:
                return self.reply(log)
        with lock:
            log.append({"t": time.time(), "path": url.path, "accept": self.headers.get("Accept", "")})
        if url.path == "/api/v1/nodes":
            chunk, meta = page(nodes, query)
            return self.reply({"kind": "NodeList", "apiVersion": "v1", "metadata": meta, "items": chunk})
        if url.path == "/apis/policy/v1/poddisruptionbudgets":
            chunk, meta = page(pdbs, query)
            return self.reply({"kind": "PodDisruptionBudgetList", "apiVersion": "policy/v1", "metadata": meta, "items": chunk})
        if url.path == "/api/v1/events":
            chunk, meta = page(events, query)
            return self.reply({"kind": "EventList", "apiVersion": "v1", "metadata": meta, "items": chunk})
        if url.path == "/api/v1/pods":
            chunk, meta = page(pods, query)
            if "as=Table" in self.headers.get("Accept", ""):
                rows = [{"cells": [p["metadata"]["name"], "1/1", "Running", 0, "5d", "10.0.0.1", p["spec"]["nodeName"], "<none>", "<none>"],
                         "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": p["metadata"]}} for p in chunk]
                return self.reply({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": columns, "rows": rows})
            return self.reply({"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": chunk})
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
