#!/usr/bin/env bash
# Bounce parsing benchmark: copies every message of the corpus
# (tests/fixtures/bounces/) COPIES times into one directory, then times
#   1. `herald bounces inspect --format json DIR` (read, MIME-parse, find the
#      report, classify every recipient, print JSON Lines), and, side by side
#      in the same run on the same files, as the reference,
#   2. Python's standard library doing less: email.message_from_bytes on
#      each file and a walk over its parts (no classification at all).
# Prints messages per second for both and their ratio; repeat RUNS times.
#
#   bench/bounces.sh [COPIES] [RUNS]
#
# Needs python3. Writes to bench/out/bounces.
set -euo pipefail
cd "$(dirname "$0")/.."
copies=${1:-200}
runs=${2:-3}
out=bench/out/bounces
rm -rf "$out"
mkdir -p "$out/msgs"

cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/herald
export RUST_LOG=warn

n=0
for i in $(seq 1 "$copies"); do
    for f in tests/fixtures/bounces/*/*.eml; do
        n=$((n + 1))
        cp "$f" "$out/msgs/$n.eml"
    done
done
bytes=$(du -sb "$out/msgs" | cut -f1)
echo "corpus: $n messages, $((bytes / 1024)) KiB (load: $(cut -d' ' -f1-3 /proc/loadavg))"

for r in $(seq 1 "$runs"); do
    sync
    t0=$(date +%s.%N)
    "$bin" bounces inspect --format json "$out/msgs" > "$out/inspect.jsonl"
    t1=$(date +%s.%N)
    python3 - "$out/msgs" <<'PY'
import email, os, sys
d = sys.argv[1]
for name in os.listdir(d):
    with open(os.path.join(d, name), 'rb') as f:
        m = email.message_from_bytes(f.read())
    for part in m.walk():
        part.get_content_type()
        if not part.is_multipart():
            part.get_payload(decode=True)
PY
    t2=$(date +%s.%N)
    python3 - "$n" "$t0" "$t1" "$t2" "$r" <<'PY'
import sys
n, t0, t1, t2, r = int(sys.argv[1]), *map(float, sys.argv[2:5]), sys.argv[5]
h, p = n / (t1 - t0), n / (t2 - t1)
print(f"run {r}: herald bounces inspect {h:,.0f} msg/s; python email (parse only) {p:,.0f} msg/s; ratio {h / p:.2f}")
PY
done
echo "lines printed: $(wc -l < "$out/inspect.jsonl")"
