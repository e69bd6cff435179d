#!/usr/bin/env bash
# Import benchmark: generates N subscriber rows (default 1,000,000) as CSV,
# imports them into a fresh SQLite store with the release binary, and prints
# rows/s and peak memory (max RSS). Run from anywhere:
#   bench/import.sh [ROWS]
# Also times a second import of the same file (every row an update) and a
# 100,000-row run, to show that memory does not grow with the file.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
out=bench/out
mkdir -p "$out"

cargo build --release --quiet
bin=target/release/herald

gen() {
    python3 - "$1" "$2" <<'PY'
import sys
n = int(sys.argv[1])
zones = ["UTC", "Europe/Lisbon", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "Asia/Amman"]
topics = ["", "world", "sport;culture", "business;technology", "science"]
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write("email,name,timezone,frequency,send_hour,topics,status\n")
    for i in range(n):
        f.write(f"reader{i}@example{i % 97}.com,Reader {i},{zones[i % len(zones)]},"
                f"{'weekly' if i % 10 == 0 else 'daily'},{i % 24},{topics[i % len(topics)]},active\n")
PY
}

# peak_rss_and_time CMD...: runs CMD, prints "seconds max_rss_kb".
measure() {
    local t0 t1 rss
    t0=$(date +%s.%N)
    rss=$( { /usr/bin/time -f "%M" "$@" >/dev/null 2>"$out/stderr.txt"; } 2>&1 ) || true
    rss=$(tail -n 1 "$out/stderr.txt")
    t1=$(date +%s.%N)
    echo "$(echo "$t1 - $t0" | bc -l) $rss"
}

run() {
    local n=$1 label=$2 csv="$out/subscribers-$1.csv" db="$out/bench-$1.db"
    [ -f "$csv" ] || gen "$n" "$csv"
    rm -f "$db" "$db-wal" "$db-shm"
    "$bin" --database-url "sqlite://$db" migrate >/dev/null
    read -r secs rss < <(measure "$bin" --database-url "sqlite://$db" subscribers import "$csv")
    printf "%-28s %9d rows  %6.2f s  %9.0f rows/s  peak RSS %6.1f MB\n" "$label (insert)" "$n" "$secs" "$(echo "$n / $secs" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
    read -r secs rss < <(measure "$bin" --database-url "sqlite://$db" subscribers import "$csv")
    printf "%-28s %9d rows  %6.2f s  %9.0f rows/s  peak RSS %6.1f MB\n" "$label (update)" "$n" "$secs" "$(echo "$n / $secs" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}

echo "Herald import benchmark on $(nproc) cores, SQLite (WAL), release build"
run 100000 "100k subscribers"
run "$rows" "$rows subscribers"
