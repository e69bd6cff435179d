#!/usr/bin/env python3
"""Draws the Herald dashboard's main panels (deploy/grafana/herald-dashboard.json)
from a folder of metric snapshots in the Prometheus text format, one file per
scrape in name order, taken one hour apart: deliveries by outcome, SMTP send
latency (p50/p95 from the histogram), bounces and complaints by category,
queue depth. A stand-in for a Grafana screenshot where Grafana cannot run.

    python3 render.py SNAPSHOT_DIR OUT.png
"""
import re
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def parse(text):
    out = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            out[(m.group(1), tuple(sorted(labels.items())))] = float(m.group(3))
    return out


def series(snaps, name, by):
    """Per-label values of `name` over the snapshots."""
    out = defaultdict(lambda: [0.0] * len(snaps))
    for i, s in enumerate(snaps):
        for (n, labels), v in s.items():
            if n == name:
                out[dict(labels).get(by, "")][i] += v
    return out


def deltas(values):
    return [max(b - a, 0.0) for a, b in zip(values, values[1:])]


def quantile(q, buckets):
    """histogram_quantile over {le: count} (cumulative)."""
    items = sorted((float(le), c) for le, c in buckets.items())
    total = items[-1][1] if items else 0
    if total <= 0:
        return None
    rank, prev_le, prev_c = q * total, 0.0, 0.0
    for le, c in items:
        if c >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * ((rank - prev_c) / max(c - prev_c, 1e-9))
        prev_le, prev_c = le, c
    return None


def main(folder, out):
    snaps = [parse(p.read_text()) for p in sorted(Path(folder).glob("*.prom"))]
    hours = list(range(1, len(snaps)))
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), dpi=80)
    fig.suptitle("Herald (rendered from herald --metrics-file snapshots by deploy/grafana/render.py)", fontsize=11)

    ax = axes[0][0]
    for outcome, values in sorted(series(snaps, "herald_deliveries_total", "outcome").items()):
        ax.plot(hours, deltas(values), marker="o", ms=3, label=outcome)
    ax.set_title("Deliveries by outcome (per hour)")
    ax.legend(fontsize=8)

    ax = axes[0][1]
    buckets = series(snaps, "herald_smtp_send_duration_seconds_bucket", "le")
    for q in (0.5, 0.95):
        ys = []
        for i in range(1, len(snaps)):
            window = {le: v[i] - v[i - 1] for le, v in buckets.items()}
            value = quantile(q, window)
            ys.append(value * 1000 if value is not None else float("nan"))
        ax.plot(hours, ys, marker="o", ms=3, label=f"p{int(q * 100)}")
    ax.set_title("Send latency (ms; file outbox here)")
    ax.legend(fontsize=8)

    ax = axes[1][0]
    for category, values in sorted(series(snaps, "herald_bounces_total", "category").items()):
        ax.plot(hours, values[1:], marker="o", ms=3, label=category)
    ax.set_title("Bounces and complaints by category (total)")
    ax.legend(fontsize=8)

    ax = axes[1][1]
    depth = series(snaps, "herald_queue_depth", "")[""]
    ax.plot(hours, depth[1:], marker="o", ms=3, label="queue depth")
    ax.set_title("Queue depth")
    for a in axes.flat:
        a.set_xlabel("hour", fontsize=8)
        a.tick_params(labelsize=8)
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
