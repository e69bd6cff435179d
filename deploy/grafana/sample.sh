#!/usr/bin/env bash
# Renders deploy/grafana/herald-dashboard.png: the dashboard's main panels
# drawn by render.py (matplotlib) from real Herald metrics, for machines
# where Grafana cannot run. Data: a small run of its own, through
# `--metrics-file` (so the textfile path is exercised too): 14 daily
# editions of 400 subscribers into the file outbox, with the bounce corpus
# of tests/fixtures/bounces ingested between them, one snapshot of the file
# per edition, spaced one hour apart in the plot.
#
#   HERALD_BIN=target/release/herald deploy/grafana/sample.sh [OUT.png]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${HERALD_BIN:-target/debug/herald}
out_png=${1:-deploy/grafana/herald-dashboard.png}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RUST_LOG=warn HERALD_METRICS__LISTEN=off
"$bin" init --dir "$work/site" >/dev/null
cd "$work/site"
python3 - > subscribers.csv <<'PY'
print("email,name")
for i in range(400):
    print(f"reader{i}@example{i % 7}.com,Reader {i}")
PY
"$bin" subscribers import subscribers.csv >/dev/null
mkdir -p "$work/snapshots"
bounces=( "$OLDPWD"/tests/fixtures/bounces/*/*.eml )
t0=1773100800 # 2026-03-10T00:00:00Z
for day in $(seq 0 13); do
    date=$(date -u -d "@$((t0 + day * 86400))" +%F)
    for n in 1 2 3; do
        printf '{"title": "Story %s-%s", "url": "https://news.example.com/%s/%s", "published_at": "%sT05:00:00Z", "votes": %s}\n' \
            "$date" "$n" "$date" "$n" "$date" "$((n * 7))"
    done > stories.jsonl
    "$bin" stories import stories.jsonl >/dev/null
    "$bin" --metrics-file herald.prom send --date "$date" --now "${date}T08:00:00Z" >/dev/null || true
    # A few reports from the corpus per edition.
    for i in 0 1 2; do
        f=${bounces[$(( (day * 3 + i) % ${#bounces[@]} ))]}
        "$bin" --metrics-file herald.prom bounces ingest "$f" >/dev/null 2>&1 || true
    done
    cp herald.prom "$work/snapshots/$(printf '%03d' "$day").prom"
done
cd "$OLDPWD"
python3 deploy/grafana/render.py "$work/snapshots" "$out_png"
if command -v pngquant >/dev/null; then pngquant --force --output "$out_png" -- "$out_png"; fi
ls -l "$out_png"
