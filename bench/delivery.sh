#!/usr/bin/env bash
# Delivery benchmark: builds the release binary, creates SUBSCRIBERS active
# daily subscribers (default 100,000) and a day of stories (200 news stories
# by 48 authors, so every digest has 10 stories and weighs 15-20 KB), starts
# Postfix's smtp-sink on a local port, and for each concurrency (default
# "4 8"):
#   1. measures the ceiling: Postfix's smtp-source sending the same digest
#      (a real one, from `herald preview --format eml`) to the same sink over
#      the same number of persistent sessions (-d, as Herald keeps one SMTP
#      session per worker);
#   2. runs `herald send` for the whole list into the sink.
# Then it sends to 10,000 subscribers (fresh store) to compare peak memory.
# Prints messages/s, wall time, % of the ceiling, peak RSS (max RSS from
# /usr/bin/time) and the CPU time of the client and of smtp-sink.
#
#   bench/delivery.sh [SUBSCRIBERS]
#   CONCURRENCY="4 8" SMALL=10000 CEILING_MESSAGES=50000 bench/delivery.sh
#
# Needs python3 and Postfix's smtp-sink/smtp-source (Debian: apt-get install
# postfix; the install starts the Postfix daemon, which this script stops
# with `postfix stop` when it finds it running). Everything it writes goes
# to bench/out/delivery.
set -euo pipefail
cd "$(dirname "$0")/.."
subscribers=${1:-100000}
small=${SMALL:-10000}
concurrencies=${CONCURRENCY:-4 8}
ceiling_messages=${CEILING_MESSAGES:-50000}
out=bench/out/delivery
now=2026-03-10T12:00:00Z
date=${now%%T*}
mkdir -p "$out"

sink_bin=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
source_bin=$(command -v smtp-source || echo /usr/sbin/smtp-source)
if [ ! -x "$sink_bin" ] || [ ! -x "$source_bin" ]; then
    echo "error: smtp-sink and smtp-source not found; install Postfix (Debian: apt-get install -y postfix, then postfix stop)" >&2
    exit 2
fi
if command -v postfix >/dev/null && postfix status >/dev/null 2>&1; then
    echo "note: the Postfix daemon is running; stopping it (postfix stop) so that it does not compete for the CPU" >&2
    postfix stop >/dev/null 2>&1 || true
fi

cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/herald
export RUST_LOG=warn

gen_subscribers() {
    python3 - "$1" "$2" <<'PY'
import sys
n = int(sys.argv[1])
zones = ["UTC", "Europe/Lisbon", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "Asia/Amman"]
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write("email,name,timezone,frequency,send_hour,topics,status\n")
    for i in range(n):
        f.write(f"reader{i}@example{i % 97}.com,Reader {i},{zones[i % len(zones)]},daily,{i % 24},,active\n")
PY
}

# A day of news: 200 stories, one every 7 minutes back from $now, 8
# sections, 48 authors, ~50-character titles, ~95-character summaries, an
# image on every other one. Sizes tuned so a 10-story digest is 15-20 KB.
gen_stories() {
    python3 - "$1" "$2" <<'PY'
import json, random, sys
from datetime import datetime, timedelta
now = datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00"))
rnd = random.Random(42)
sections = ["world", "business", "technology", "science", "sport", "culture", "politics", "health"]
words = ("council budget river energy market vote team season study climate school museum league "
         "court storm bridge harbour festival station startup hospital election orchestra satellite "
         "vaccine railway tariff drought harvest").split()
authors = [f"{f} {l}" for f in ("Marta", "Chidi", "Élodie", "Kenji", "Aisha", "Tomás", "Ingrid", "Rahul")
           for l in ("Oliveira", "Okafor", "Marchand", "Tanaka", "Haddad", "Novak")]
def words_(k):
    return [rnd.choice(words) for _ in range(k)]
items = []
for i in range(200):
    section = sections[i % len(sections)]
    published = now - timedelta(minutes=5 + 7 * i)
    title = words_(7)
    slug = "-".join(title[:4])
    item = {
        "kind": "story",
        "title": " ".join(title).capitalize(),
        "url": f"https://news.example.com/{section}/{published:%Y/%m/%d}/{slug}-{i}",
        "summary": " ".join(words_(13)).capitalize() + ".",
        "author": authors[i % len(authors)],
        "section": section,
        "published_at": published.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "votes": rnd.randint(5, 900),
        "comments": rnd.randint(0, 300),
    }
    if i % 2 == 0:
        item["image_url"] = f"https://cdn.example.com/img/{slug}-{i}.jpg"
    items.append(item)
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump(items, f, ensure_ascii=False, indent=1)
PY
}

# A store with N subscribers and the stories, WAL checkpointed into the main
# file so that a plain copy is a fresh store for each run.
make_store() {
    local n=$1 db="$out/pristine-$1.db"
    [ -f "$out/subscribers-$n.csv" ] || gen_subscribers "$n" "$out/subscribers-$n.csv"
    rm -f "$db" "$db-wal" "$db-shm"
    "$bin" --database-url "sqlite://$db" subscribers import "$out/subscribers-$n.csv" >/dev/null
    "$bin" --database-url "sqlite://$db" stories import "$out/stories.json" >/dev/null
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.close()" "$db"
    rm -f "$db-wal" "$db-shm"
}

free_port() {
    python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
}

# CPU seconds (user + system) used so far by a process.
cpu_of() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}

gen_stories "$now" "$out/stories.json"
make_store "$subscribers"
[ "$small" = "$subscribers" ] || make_store "$small"

# The message smtp-source sends: a real digest, as Herald renders it.
cp "$out/pristine-$small.db" "$out/preview.db"
"$bin" --database-url "sqlite://$out/preview.db" preview reader1@example1.com \
    --date "$date" --now "$now" --format eml --out "$out/digest.eml"
rm -f "$out"/preview.db*
# smtp-source appends CRLF to every line: give it bare lines.
sed 's/\r$//' "$out/digest.eml" >"$out/digest.txt"
wire_bytes=$(awk '{ n += length($0) + 2 } END { print n }' "$out/digest.txt")
items=$(grep -c 'class="item"' "$out/digest.txt" || true)

port=$(free_port)
sink_user=()
[ "$(id -u)" -eq 0 ] && sink_user=(-u "$(id -un postfix 2>/dev/null || echo nobody)")
"$sink_bin" "${sink_user[@]}" "127.0.0.1:$port" 1024 >"$out/smtp-sink.log" 2>&1 &
sink=$!
trap 'kill "$sink" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

rows=()
ceiling_rate=()

# ceiling CONCURRENCY: smtp-source, persistent sessions, the same message.
ceiling() {
    local c=$1 sink0 sink1 wall user sys rss
    sink0=$(cpu_of "$sink")
    /usr/bin/time -o "$out/time.txt" -f "%e %U %S %M" \
        "$source_bin" -d -s "$c" -m "$ceiling_messages" -F "$out/digest.txt" \
        -f digest@example.com -t reader@example.com "127.0.0.1:$port"
    sink1=$(cpu_of "$sink")
    read -r wall user sys rss <"$out/time.txt"
    local rate
    rate=$(echo "$ceiling_messages / $wall" | bc -l)
    ceiling_rate[$c]=$rate
    rows+=("$(printf "%-30s %9d %8.2f %9.0f %8s %8.1f %9.2f %8.2f" \
        "smtp-source (ceiling), c=$c" "$ceiling_messages" "$wall" "$rate" "100%" \
        "$(echo "$rss / 1024" | bc -l)" "$(echo "$user + $sys" | bc -l)" "$(echo "$sink1 - $sink0" | bc -l)")")
}

# herald_send SUBSCRIBERS CONCURRENCY: a fresh copy of the store, one send.
herald_send() {
    local n=$1 c=$2 db="$out/run.db" sink0 sink1 wall user sys rss sent rate pct
    rm -f "$db" "$db-wal" "$db-shm"
    cp "$out/pristine-$n.db" "$db"
    sink0=$(cpu_of "$sink")
    HERALD_MAIL__TRANSPORT=smtp \
        HERALD_MAIL__SMTP_URL="smtp://127.0.0.1:$port?tls=none" \
        HERALD_DELIVERY__CONCURRENCY="$c" \
        HERALD_DELIVERY__LINGER=0 \
        /usr/bin/time -o "$out/time.txt" -f "%e %U %S %M" \
        "$bin" --database-url "sqlite://$db" send --date "$date" --now "$now" \
        >"$out/send-$n-c$c.txt" 2>"$out/send-$n-c$c.log" || {
        echo "error: herald send failed; see $out/send-$n-c$c.log" >&2
        cat "$out/send-$n-c$c.txt" >&2
        exit 1
    }
    sink1=$(cpu_of "$sink")
    read -r wall user sys rss <"$out/time.txt"
    echo "  herald, $n subscribers, c=$c: $(cat "$out/send-$n-c$c.txt")"
    sent=$(sed -n 's/.*: sent \([0-9]*\),.*/\1/p' "$out/send-$n-c$c.txt")
    if [ "$sent" != "$n" ]; then
        echo "error: herald sent ${sent:-?} of $n digests; see $out/send-$n-c$c.txt" >&2
        exit 1
    fi
    rate=$(echo "$sent / $wall" | bc -l)
    pct=$(printf "%.0f%%" "$(echo "100 * $rate / ${ceiling_rate[$c]}" | bc -l)")
    rss_mb[$n,$c]=$(echo "$rss / 1024" | bc -l)
    rows+=("$(printf "%-30s %9d %8.2f %9.0f %8s %8.1f %9.2f %8.2f" \
        "herald send, c=$c" "$sent" "$wall" "$rate" "$pct" "${rss_mb[$n,$c]}" \
        "$(echo "$user + $sys" | bc -l)" "$(echo "$sink1 - $sink0" | bc -l)")")
    if [ "$n" = "$subscribers" ]; then
        last_pct[$c]=$(echo "100 * $rate / ${ceiling_rate[$c]}" | bc -l)
    fi
}

declare -A rss_mb last_pct
echo "Herald delivery benchmark on $(nproc) cores, SQLite (WAL), release build, smtp-sink on 127.0.0.1:$port"
echo "digest: $items stories, $wire_bytes bytes on the wire"
first=
for c in $concurrencies; do
    first=${first:-$c}
    ceiling "$c"
    herald_send "$subscribers" "$c"
done
c=$first
[ "$small" = "$subscribers" ] || herald_send "$small" "$c"

echo
printf "%-30s %9s %8s %9s %8s %8s %9s %8s\n" run messages "wall s" "msg/s" "% ceil" "RSS MB" "CPU s" "sink s"
printf "%s\n" "${rows[@]}"
echo "(CPU s: user + system time of the client; sink s: CPU time smtp-sink spent on that run)"

echo
verdict() { if [ "$1" -eq 1 ]; then echo pass; else echo FAIL; fi; }
for c in $concurrencies; do
    printf "target: >= 50%% of the ceiling at c=%s: %.0f%%  %s\n" "$c" "${last_pct[$c]}" \
        "$(verdict "$(echo "${last_pct[$c]} >= 50" | bc -l)")"
done
for c in $concurrencies; do
    printf "target: peak RSS <= 150 MB at %d subscribers, c=%s: %.1f MB  %s\n" "$subscribers" "$c" "${rss_mb[$subscribers,$c]}" \
        "$(verdict "$(echo "${rss_mb[$subscribers,$c]} <= 150" | bc -l)")"
done
if [ "$small" != "$subscribers" ]; then
    big=${rss_mb[$subscribers,$first]} little=${rss_mb[$small,$first]}
    growth=$(echo "100 * ($big - $little) / $little" | bc -l)
    printf "target: peak RSS within 20%% between %d and %d subscribers (c=%s): %+.0f%%  %s\n" "$small" "$subscribers" "$first" "$growth" \
        "$(verdict "$(echo "$growth <= 20 && $growth >= -20" | bc -l)")"
fi
