#!/usr/bin/env bash
# Delivery benchmark, side by side with the references in the same run (the
# machine is shared and noisy, so only ratios measured together mean much):
#
#   1. without DKIM: for each list size in SIZES (default "20000 100000"),
#      Postfix's smtp-source sends the same digest (a real one, from
#      `herald preview --format eml`) as many times into the same smtp-sink
#      over CONCURRENCY persistent sessions, then `herald send` delivers the
#      edition to that many subscribers at the same concurrency;
#   2. with RSA-2048 DKIM: `openssl speed rsa2048` (one core, sign/s) times
#      the cores is the ceiling; `herald send` of DKIM_SIZE digests signed
#      with an RSA-2048 key;
#   3. both repeated RUNS times (default 3), then one `herald send` per size
#      in RSS_SIZES (default "10000 100000 1000000") for peak memory;
#   4. per run, the CPU each message costs (user + system, µs): one
#      openssl signature, smtp-sink while smtp-source feeds it, `herald
#      send` without and with DKIM; and the RSA ratio those allow on these
#      cores, so a shortfall says whether Herald or the machine is the limit.
#
# Digests are 15 items (10 news stories and 5 blog posts), about 27 KB on
# the wire. Prints one table row per run and size, the ratios and the load
# average when each run started.
#
#   bench/delivery.sh [RUNS]
#   SIZES="20000" RSS_SIZES="10000 100000" CONCURRENCY=4 bench/delivery.sh 1
#
# Needs python3, openssl and Postfix's smtp-sink/smtp-source (Debian:
# apt-get install postfix; the install starts the Postfix daemon, which this
# script stops with `postfix stop` when it finds it running). Everything it
# writes goes to bench/out/delivery.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
sizes=${SIZES:-20000 100000}
rss_sizes=${RSS_SIZES:-10000 100000 1000000}
c=${CONCURRENCY:-4}
dkim_size=${DKIM_SIZE:-20000}
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

# A day of news: 200 stories and 60 blog posts, one every few minutes back
# from $now, 8 sections, 48 authors, ~50-character titles, ~190-character
# summaries, an image on every other one. A 15-item digest is ~27 KB.
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
for i in range(260):
    kind = "blog" if i % 13 in (3, 9) or i >= 240 else "story"
    section = sections[i % len(sections)]
    published = now - timedelta(minutes=5 + 5 * i)
    title = words_(7)
    slug = "-".join(title[:4])
    item = {
        "kind": kind,
        "title": " ".join(title).capitalize(),
        "url": f"https://news.example.com/{section}/{published:%Y/%m/%d}/{slug}-{i}",
        "summary": " ".join(words_(26)).capitalize() + ".",
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
    [ -f "$db" ] && [ "$db" -nt "$bin" ] && return
    [ -f "$out/subscribers-$n.csv" ] || gen_subscribers "$n" "$out/subscribers-$n.csv"
    rm -f "$db" "$db-wal" "$db-shm"
    "$bin" --database-url "sqlite://$db" migrate >/dev/null
    "$bin" --database-url "sqlite://$db" subscribers import "$out/subscribers-$n.csv" >/dev/null
    "$bin" --database-url "sqlite://$db" stories import "$out/stories.json" >/dev/null
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.close()" "$db"
    rm -f "$db-wal" "$db-shm"
}

free_port() {
    python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
}

load() { cut -d' ' -f1 /proc/loadavg; }

gen_stories "$now" "$out/stories.json"
for n in $(printf "%s\n" $sizes $rss_sizes "$dkim_size" | sort -un); do
    make_store "$n"
done
smallest=$(printf "%s\n" $sizes $rss_sizes "$dkim_size" | sort -n | head -1)

# The message smtp-source sends: a real digest, as Herald renders it.
cp "$out/pristine-$smallest.db" "$out/preview.db"
"$bin" --database-url "sqlite://$out/preview.db" preview reader1@example1.com \
    --date "$date" --now "$now" --format eml --out "$out/digest.eml"
rm -f "$out"/preview.db*
# smtp-source appends CRLF to every line: give it bare lines.
sed 's/\r$//' "$out/digest.eml" >"$out/digest.txt"
wire_bytes=$(awk '{ n += length($0) + 2 } END { print n }' "$out/digest.txt")
# One title per item: the lead's and the others' (the HTML part is 7bit;
# 3D covers a quoted-printable one).
items=$(grep -o -E 'class=(3D)?"(lead-)?title"' "$out/digest.txt" | wc -l)

[ -f "$out/dkim.pem" ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$out/dkim.pem" 2>/dev/null

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

# The sink's CPU time so far (user + system), in seconds.
sink_cpu() { awk '{ printf "%.2f\n", ($14 + $15) / 100 }' "/proc/$sink/stat"; }

# smtp_source N: messages/s of smtp-source sending N copies over $c
# sessions, and the sink's CPU per message meanwhile (µs).
smtp_source() {
    local before
    before=$(sink_cpu)
    /usr/bin/time -o "$out/time.txt" -f "%e" \
        "$source_bin" -d -s "$c" -m "$1" -F "$out/digest.txt" \
        -f digest@example.com -t reader@example.com "127.0.0.1:$port"
    printf "%.1f %.0f\n" "$(echo "$1 / $(cat "$out/time.txt")" | bc -l)" \
        "$(echo "($(sink_cpu) - $before) * 1000000 / $1" | bc -l)"
}

# herald_send N [dkim]: a fresh copy of the store, one `herald send`;
# prints "messages/s peak-RSS-MB herald-CPU-µs-per-message
# sink-CPU-µs-per-message".
herald_send() {
    local n=$1 db="$out/run.db" wall rss user sys sent tag=$1${2:+-dkim} before
    local dkim_env=()
    if [ "${2:-}" = dkim ]; then
        dkim_env=(HERALD_MAIL__DKIM__SELECTOR=bench HERALD_MAIL__DKIM__DOMAIN=example.com
            "HERALD_MAIL__DKIM__KEY_FILE=$out/dkim.pem")
    fi
    rm -f "$db" "$db-wal" "$db-shm"
    cp "$out/pristine-$n.db" "$db"
    before=$(sink_cpu)
    env "${dkim_env[@]}" \
        HERALD_MAIL__TRANSPORT=smtp \
        HERALD_MAIL__SMTP_URL="smtp://127.0.0.1:$port?tls=none" \
        HERALD_DELIVERY__CONCURRENCY="$c" \
        HERALD_DELIVERY__LINGER=0 \
        /usr/bin/time -o "$out/time.txt" -f "%e %M %U %S" \
        "$bin" --database-url "sqlite://$db" send --date "$date" --now "$now" \
        >"$out/send-$tag.txt" 2>"$out/send-$tag.log" || {
        echo "error: herald send failed; see $out/send-$tag.log" >&2
        cat "$out/send-$tag.txt" >&2
        exit 1
    }
    read -r wall rss user sys <"$out/time.txt"
    sent=$(grep -o 'sent [0-9]*' "$out/send-$tag.txt" | head -1 | cut -d' ' -f2)
    if [ "$sent" != "$n" ]; then
        echo "error: herald sent ${sent:-?} of $n digests; see $out/send-$tag.txt" >&2
        exit 1
    fi
    printf "%.1f %.1f %.0f %.0f\n" "$(echo "$sent / $wall" | bc -l)" "$(echo "$rss / 1024" | bc -l)" \
        "$(echo "($user + $sys) * 1000000 / $sent" | bc -l)" "$(echo "($(sink_cpu) - $before) * 1000000 / $sent" | bc -l)"
}

# openssl's RSA-2048 signatures per second on one core.
openssl_rsa() {
    # The sign/s column: the header lacks the data rows' three leading fields.
    openssl speed -seconds 3 rsa2048 2>/dev/null |
        awk '/sign\/s/ { for (i = 1; i <= NF; i++) if ($i == "sign/s") col = i + 3 }
             /^rsa 2048 bits/ { print $col; exit }'
}

cores=$(nproc)
echo "Herald delivery benchmark: $cores cores, SQLite (WAL), release build, smtp-sink on 127.0.0.1:$port, concurrency $c"
echo "digest: $items items, $wire_bytes bytes on the wire; $runs runs"
rows=()
budget=()
for r in $(seq "$runs"); do
    l=$(load)
    sink_us=
    plain_us=
    for n in $sizes; do
        read -r s t < <(smtp_source "$n")
        read -r h _ u _ < <(herald_send "$n")
        sink_us=${sink_us:-$t}
        plain_us=${plain_us:-$u}
        rows+=("$(printf "| %d | %.1f | no DKIM | %d | %.0f | %.0f | **%.2f** |" "$r" "$l" "$n" "$s" "$h" "$(echo "$h / $s" | bc -l)")")
        echo "${rows[-1]}"
    done
    o=$(openssl_rsa)
    ceiling=$(echo "$o * $cores" | bc -l)
    read -r d _ du dt < <(herald_send "$dkim_size" dkim)
    rows+=("$(printf "| %d | %.1f | RSA-2048 DKIM | %d | %.0f (openssl %.0f/s × %d) | %.0f | **%.2f** |" "$r" "$l" "$dkim_size" "$ceiling" "$o" "$cores" "$d" "$(echo "$d / $ceiling" | bc -l)")")
    echo "${rows[-1]}"
    # What the cores allow: a signed message costs Herald du µs of CPU and
    # the sink dt; with every core busy on nothing else the rate is
    # cores / (du + dt), and its ratio to o × cores is 1 / ((du + dt) · o).
    # Were Herald's own work free (its CPU the signature alone, 1/o), the
    # ratio would be 1 / (1 + dt · o).
    budget+=("$(awk -v r="$r" -v o="$o" -v ts="$sink_us" -v t="$dt" -v p="$plain_us" -v d="$du" 'BEGIN {
        s = 1e6 / o
        printf "| %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f |", r, s, ts, t, p, d, d - p, 1e6 / ((d + t) * o), 1e6 / (s + t) / o
    }')")
done

echo
echo "| run | load | signing | messages | reference msg/s | herald msg/s | ratio |"
echo "|---|---|---|---|---|---|---|"
printf "%s\n" "${rows[@]}"
echo "(reference: smtp-source into the same sink at the same concurrency, or openssl speed rsa2048 sign/s x cores; targets: >= 0.6 without DKIM, >= 0.5 with RSA DKIM)"

echo
echo "CPU per message (µs, user + system) and the RSA ratio the cores allow:"
echo "| run | openssl sign | smtp-sink fed by smtp-source | smtp-sink fed by herald (RSA) | herald, no DKIM | herald, RSA | signing adds | ratio with the cores busy | ratio were Herald's own work free |"
echo "|---|---|---|---|---|---|---|---|---|"
printf "%s\n" "${budget[@]}"
echo "(the RSA target of 0.5 needs Herald's own work plus the sink's, per message, to cost less than one signature)"

echo
echo "| subscribers | load | herald msg/s | peak RSS MB |"
echo "|---|---|---|---|"
first_rss=
for n in $rss_sizes; do
    l=$(load)
    read -r h m _ < <(herald_send "$n")
    first_rss=${first_rss:-$m}
    printf "| %d | %.1f | %.0f | %.1f (%+.0f%%) |\n" "$n" "$l" "$h" "$m" "$(echo "100 * ($m - $first_rss) / $first_rss" | bc -l)"
done
echo "(targets: peak RSS <= 150 MB and within 20% across the sizes)"
