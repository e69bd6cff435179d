#!/usr/bin/env bash
# Scale benchmark: one PostgreSQL edition of N daily subscribers (default
# 1,000,000) sent by three `herald send` processes (release build) started
# at once on the same edition, into Postfix's smtp-sink on a loopback port
# (transport smtp, tls=none, delivery.concurrency 4 each). Reports:
#   - exactly once: ledger rows sent = N, no subscriber with two rows, no
#     row claimed twice (attempts), and smtp-sink's own count of messages;
#   - the spread: each process's summary line (and, when the ledger has a
#     run_id column, rows per run);
#   - the claim query's cost: EXPLAIN (ANALYZE, BUFFERS) at the start (all
#     rows queued), late in the run (most rows sent) and at the end (none
#     left), each in a transaction rolled back; and the per-batch claim
#     timings the engine logs (fields `claimed` and `claim_ms` at
#     RUST_LOG=herald::deliver=debug) at the start and at the end of each
#     process, when it logs them;
#   - wall time, messages/s, peak RSS of each process (/usr/bin/time -v) and
#     the machine's load (uptime).
#
#   bench/scale.sh [N]
#   HERALD_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test bench/scale.sh 100000
#
# The database is a fresh one (herald_scale) on the server of
# HERALD_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test),
# dropped at the start of the next run. Subscribers are seeded with one
# INSERT … SELECT generate_series through the real schema after
# `herald migrate`; stories through `herald stories import`. Needs psql,
# python3 and smtp-sink (Debian: apt-get install -y postfix postgresql-client;
# the Postfix daemon is stopped if it runs). Output goes to bench/out/scale.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
procs=${PROCESSES:-3}
concurrency=${CONCURRENCY:-4}
admin_url=${HERALD_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
db_name=herald_scale
db_url="${admin_url%/*}/$db_name"
out=bench/out/scale
now=2026-03-10T12:00:00Z
date=${now%%T*}
mkdir -p "$out"
rm -f "$out"/send-*.txt "$out"/send-*.log "$out"/time-*.txt "$out"/explain-*.txt

sink_bin=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
if [ ! -x "$sink_bin" ]; then
    echo "error: smtp-sink not found; install Postfix (Debian: apt-get install -y postfix, then postfix stop)" >&2
    exit 2
fi
command -v psql >/dev/null || { echo "error: psql not found (Debian: apt-get install -y postgresql-client)" >&2; exit 2; }
if command -v postfix >/dev/null && postfix status >/dev/null 2>&1; then
    echo "note: the Postfix daemon is running; stopping it (postfix stop) so that it does not compete for the CPU" >&2
    postfix stop >/dev/null 2>&1 || true
fi

# HERALD_BIN: a herald binary already built (else the release build here).
bin=${HERALD_BIN:-${CARGO_TARGET_DIR:-target}/release/herald}
[ -n "${HERALD_BIN:-}" ] || cargo build --release --quiet
export RUST_LOG=warn

q() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$db_url" -c "$1"; }

# A day of news, as bench/delivery.sh makes it: 200 stories, so every digest
# has 10 stories and weighs 15-20 KB.
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

free_port() {
    python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
}

# ---- the store -------------------------------------------------------------
psql -X -q -v ON_ERROR_STOP=1 "$admin_url" -c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" -c "CREATE DATABASE $db_name"
"$bin" --database-url "$db_url" migrate >/dev/null
t0=$(date +%s.%N)
# Tokens are md5 hex: 32 URL-safe characters, the shape Token::parse takes.
q "INSERT INTO subscribers (email, email_key, name, status, timezone, frequency, send_hour, topics, token, created_at, confirmed_at, updated_at)
   SELECT 'reader' || i || '@example' || (i % 97) || '.com', 'reader' || i || '@example' || (i % 97) || '.com', 'Reader ' || i, 'active', 'UTC', 'daily', i % 24, '',
          md5('herald-scale-' || i), now(), now(), now()
   FROM generate_series(0, $n - 1) AS i"
q "ANALYZE subscribers"
t1=$(date +%s.%N)
gen_stories "$now" "$out/stories.json"
"$bin" --database-url "$db_url" stories import "$out/stories.json" >/dev/null
printf "seeded %d subscribers in %.1f s\n" "$n" "$(echo "$t1 - $t0" | bc -l)"

# ---- the sink --------------------------------------------------------------
port=$(free_port)
sink_user=()
[ "$(id -u)" -eq 0 ] && sink_user=(-u "$(id -un postfix 2>/dev/null || echo nobody)")
# -c counts every DATA transaction it completes, on stdout.
"$sink_bin" "${sink_user[@]}" -c "127.0.0.1:$port" 1024 >"$out/smtp-sink.out" 2>"$out/smtp-sink.log" &
sink=$!
trap 'kill "$sink" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

# ---- the claim query ---------------------------------------------------------
# CLAIM QUERY: Store::claim in src/store/deliveries.rs, with literal values:
# edition $1, the claim cursor $2 (the last queued id the run claimed, 0 at
# first and after a short claim) and the batch the claimer asks for
# (CLAIM_PER_WORKER = 16 rows per worker, src/deliver/mod.rs). Keep this in
# step with the store: it is the one place in this script that knows the
# query.
claim_sql() {
    local edition=$1 after=$2 limit=$((concurrency * 16))
    local unpaused="NOT EXISTS (SELECT 1 FROM edition_pauses p WHERE p.edition_id = $edition AND p.resumed_at IS NULL AND (p.domain = '' OR p.domain = deliveries.domain))"
    local unpaused_held="NOT EXISTS (SELECT 1 FROM edition_pauses p WHERE p.edition_id = $edition AND p.resumed_at IS NULL AND (p.domain = '' OR p.domain = d.domain))"
    local cutoff="date_trunc('second', now()) - make_interval(secs => 30)"
    cat <<SQL
WITH fresh AS (SELECT id FROM deliveries WHERE edition_id = $edition AND status = 'queued' AND id > $after
  AND $unpaused ORDER BY id LIMIT $limit FOR UPDATE SKIP LOCKED),
retry AS (SELECT id FROM deliveries WHERE edition_id = $edition AND status = 'deferred'
  AND next_attempt_at <= now() AND $unpaused ORDER BY id LIMIT $limit FOR UPDATE SKIP LOCKED),
orphan AS (SELECT o.id FROM runs r CROSS JOIN LATERAL (SELECT d.id FROM deliveries d
  WHERE d.edition_id = $edition AND d.status = 'sending' AND d.run_id = r.id AND $unpaused_held
  ORDER BY d.id LIMIT $limit FOR UPDATE SKIP LOCKED) o
  WHERE (r.stopped_at IS NOT NULL OR r.heartbeat_at < $cutoff) ORDER BY o.id LIMIT $limit),
leased AS (SELECT id FROM deliveries WHERE edition_id = $edition AND status = 'sending' AND run_id IS NULL
  AND (lease_until IS NULL OR lease_until < now()) AND $unpaused ORDER BY id LIMIT $limit FOR UPDATE SKIP LOCKED),
picked AS (SELECT id AS pick FROM fresh UNION ALL SELECT id FROM retry
  UNION ALL SELECT id FROM orphan UNION ALL SELECT id FROM leased)
UPDATE deliveries SET status = 'sending', run_id = NULL, lease_until = NULL, attempts = attempts + 1, updated_at = now()
FROM picked WHERE deliveries.id = picked.pick
RETURNING id, subscriber_id, attempts, created_at
SQL
}

# explain LABEL: EXPLAIN (ANALYZE, BUFFERS) of the claim, rolled back, so the
# running senders never see its claims. While rows are queued, the cursor is
# where a running claimer's is (the highest id claimed so far); at the end it
# is 0, the full range the last claims of a run read.
explain() {
    local label=$1 edition after
    edition=$(q "SELECT id FROM editions WHERE frequency = 'daily' AND edition_date = '$date'")
    after=$(q "SELECT CASE WHEN EXISTS (SELECT 1 FROM deliveries WHERE edition_id = $edition AND status = 'queued')
               THEN COALESCE((SELECT MAX(id) FROM deliveries WHERE edition_id = $edition AND status <> 'queued'), 0) ELSE 0 END")
    { echo "-- $label: $(q "SELECT status || ' ' || COUNT(*) FROM deliveries WHERE edition_id = $edition GROUP BY status ORDER BY status" | tr '\n' ',' ) cursor $after"
      psql -X -q -v ON_ERROR_STOP=1 "$db_url" <<SQL
BEGIN;
EXPLAIN (ANALYZE, BUFFERS) $(claim_sql "$edition" "$after");
ROLLBACK;
SQL
    } >"$out/explain-$label.txt" 2>&1
}

# ---- the run ----------------------------------------------------------------
echo "Herald scale benchmark on $(nproc) cores: $procs x herald send (c=$concurrency) on one PostgreSQL edition of $n subscribers into smtp-sink on 127.0.0.1:$port"
echo "load before: $(uptime)"
start=$(date +%s.%N)
pids=()
for p in $(seq "$procs"); do
    HERALD_MAIL__TRANSPORT=smtp \
        HERALD_MAIL__SMTP_URL="smtp://127.0.0.1:$port?tls=none" \
        HERALD_DELIVERY__CONCURRENCY="$concurrency" \
        HERALD_DELIVERY__LINGER=0 \
        RUST_LOG=warn,herald::deliver=debug \
        /usr/bin/time -v -o "$out/time-$p.txt" \
        "$bin" --database-url "$db_url" send --date "$date" --now "$now" \
        >"$out/send-$p.txt" 2>"$out/send-$p.log" &
    pids+=($!)
done

# Start: as soon as the edition is fully queued. Late: once 90% is sent.
edition=
while [ -z "$edition" ]; do
    sleep 0.2
    edition=$(q "SELECT id FROM editions WHERE frequency = 'daily' AND edition_date = '$date'" 2>/dev/null || true)
done
while [ "$(q "SELECT COUNT(*) FROM deliveries WHERE edition_id = $edition")" -lt "$n" ]; do sleep 0.2; done
explain start
load_mid=
while [ "$(q "SELECT COUNT(*) FROM deliveries WHERE edition_id = $edition AND status = 'sent'")" -lt $((n * 9 / 10)) ]; do
    sleep 1
    if [ -z "$load_mid" ] && ! kill -0 "${pids[0]}" 2>/dev/null; then break; fi
done
load_mid=$(uptime)
explain late

status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
end=$(date +%s.%N)
wall=$(echo "$end - $start" | bc -l)
explain end
load_after=$(uptime)
sleep 0.5
kill "$sink" 2>/dev/null || true
wait "$sink" 2>/dev/null || true

# ---- the report ---------------------------------------------------------------
echo
for p in $(seq "$procs"); do
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out/time-$p.txt")
    printf "process %d: %s  (peak RSS %.1f MB)\n" "$p" "$(tail -n 1 "$out/send-$p.txt")" "$(echo "${rss:-0} / 1024" | bc -l)"
done
[ "$status" -eq 0 ] || echo "note: a herald send exited with status $status; see $out/send-*.log"

sent=$(q "SELECT COUNT(*) FROM deliveries WHERE edition_id = $edition AND status = 'sent'")
rows=$(q "SELECT COUNT(*) FROM deliveries WHERE edition_id = $edition")
twice=$(q "SELECT COUNT(*) FROM (SELECT subscriber_id FROM deliveries WHERE edition_id = $edition GROUP BY subscriber_id HAVING COUNT(*) > 1) t")
reclaimed=$(q "SELECT COUNT(*) FROM deliveries WHERE edition_id = $edition AND attempts <> 1")
missing=$(q "SELECT COUNT(*) FROM subscribers s WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.edition_id = $edition AND d.subscriber_id = s.id AND d.status = 'sent')")
# smtp-sink -c prints its running count, one number per line or
# carriage-return separated; the largest is the total.
sink_count=$(tr '\r' '\n' <"$out/smtp-sink.out" | grep -Eo '[0-9]+' | sort -n | tail -n 1 || true)
echo
echo "exactly once:"
echo "  ledger rows $rows, sent $sent of $n subscribers; subscribers without a sent row: $missing"
echo "  subscribers with two rows: $twice; rows claimed more than once (attempts <> 1): $reclaimed"
echo "  smtp-sink counted ${sink_count:-?} messages"
if [ "$(q "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'deliveries' AND column_name = 'run_id'")" = 1 ]; then
    echo "  rows sent per run:"
    q "SELECT COALESCE(run_id::text, '-') || ': ' || COUNT(*) FROM deliveries WHERE edition_id = $edition AND status = 'sent' GROUP BY run_id ORDER BY run_id" | sed 's/^/    /'
fi

echo
echo "claim query (EXPLAIN ANALYZE, one claim of $((concurrency * 16)) rows, rolled back):"
for label in start late end; do
    printf "  %-6s %-70s planning %s ms, execution %s ms, buffers %s\n" "$label" \
        "$(head -n 1 "$out/explain-$label.txt" | cut -c 4- | cut -c 1-70)" \
        "$(sed -n 's/.*Planning Time: \([0-9.]*\) ms.*/\1/p' "$out/explain-$label.txt")" \
        "$(sed -n 's/.*Execution Time: \([0-9.]*\) ms.*/\1/p' "$out/explain-$label.txt")" \
        "$(grep -m1 -o 'Buffers: .*' "$out/explain-$label.txt" | cut -c 10- || true)"
done
echo "  (full plans in $out/explain-{start,late,end}.txt)"

echo
# Per-batch timings from the engine's debug log, when it has them.
if grep -q 'claim_ms' "$out"/send-*.log 2>/dev/null; then
    echo "per-batch claim timings (claim_ms; first and last 50 claims of each process):"
    for p in $(seq "$procs"); do
        grep -o 'claim_ms=[0-9.]*' "$out/send-$p.log" | cut -d= -f2 >"$out/claims-$p.txt" || true
        python3 - "$p" "$out/claims-$p.txt" <<'PY'
import statistics, sys
ms = [float(x) for x in open(sys.argv[2]) if x.strip()]
def line(name, xs):
    if not xs:
        return f"{name}: none"
    xs = sorted(xs)
    return f"{name}: median {statistics.median(xs):.2f} ms, p90 {xs[int(0.9 * (len(xs) - 1))]:.2f} ms, max {xs[-1]:.2f} ms"
print(f"  process {sys.argv[1]}: {len(ms)} claims; " + line("start", ms[:50]) + "; " + line("end", ms[-50:]))
PY
    done
else
    echo "per-batch claim timings: the engine logs none (no claim_ms field at herald::deliver=debug); see the EXPLAIN ANALYZE execution times above"
fi

echo
printf "wall time %.1f s, %.0f messages/s (%d sent)\n" "$wall" "$(echo "$sent / $wall" | bc -l)" "$sent"
echo "load at 90%: $load_mid"
echo "load after:  $load_after"
