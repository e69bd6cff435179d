#!/usr/bin/env bash
# Feed ingestion benchmark: builds the release binary, writes FEEDS RSS 2.0
# feeds of ENTRIES entries each (default 100 x 100: HTML descriptions,
# entities, tracking parameters, slash:comments), serves them with Python's
# http.server (which answers If-Modified-Since with 304), registers them in
# a fresh SQLite store and times:
#   1. the first `herald feeds fetch` (every entry inserted),
#   2. a second fetch, every feed unchanged (conditional GET: all 304),
#   3. a third with the validators erased (every feed downloaded and parsed
#      again, every story compared, nothing written).
# Targets: 1 in 10 s or less, 2 in 1 s or less.
#
#   bench/feeds.sh [FEEDS] [ENTRIES]
#
# Needs python3 and sqlite3. Writes to bench/out/feeds.
set -euo pipefail
cd "$(dirname "$0")/.."
feeds=${1:-100}
entries=${2:-100}
out=bench/out/feeds
rm -rf "$out"
mkdir -p "$out/www"

cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/herald
export RUST_LOG=warn

python3 - "$out/www" "$feeds" "$entries" <<'PY'
import os, random, sys
from datetime import datetime, timedelta, timezone
www, feeds, entries = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(7)
words = ("council budget river energy market vote team season study climate school museum league "
         "court storm bridge harbour festival station startup hospital election orchestra satellite").split()
now = datetime(2026, 3, 10, 12, tzinfo=timezone.utc)
for f in range(feeds):
    items = []
    for e in range(entries):
        title = " ".join(rnd.choice(words) for _ in range(8)).capitalize()
        desc = " ".join(rnd.choice(words) for _ in range(60))
        when = (now - timedelta(minutes=7 * e + f)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        items.append(f"""    <item>
      <title>{title} &amp;amp; more</title>
      <link>https://site{f}.example.com/{f}/{e}/{title.replace(' ', '-').lower()}?utm_source=rss&amp;id={e}</link>
      <description>&lt;p&gt;{desc}&lt;/p&gt;&lt;p&gt;&lt;a href="https://site{f}.example.com/"&gt;Read more&lt;/a&gt;&lt;/p&gt;</description>
      <pubDate>{when}</pubDate>
      <dc:creator>Author {e % 13}</dc:creator>
      <category>Section {e % 7}</category>
      <guid isPermaLink="false">{f}-{e}</guid>
      <slash:comments>{rnd.randint(0, 400)}</slash:comments>
    </item>""")
    body = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
  <channel>
    <title>Site {f}</title>
    <link>https://site{f}.example.com/</link>
    <description>Feed {f}</description>
{chr(10).join(items)}
  </channel>
</rss>
"""
    with open(os.path.join(www, f"feed-{f}.xml"), "w", encoding="utf-8") as fh:
        fh.write(body)
PY
bytes=$(du -sb "$out/www" | cut -f1)

port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
# Python's http.server, with a listen backlog of 128 instead of 5: with 5,
# concurrent connects overflow it and the dropped SYNs are retried after a
# whole second, which measures the kernel, not Herald.
python3 - "$port" "$out/www" >"$out/http.log" 2>&1 <<'PY' &
import functools, http.server, sys
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
Server(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
PY
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

db="$out/feeds.db"
h() { "$bin" --database-url "sqlite://$db" "$@"; }
h migrate >/dev/null
for f in $(seq 0 $((feeds - 1))); do
    h feeds add "http://127.0.0.1:$port/feed-$f.xml" >/dev/null
done

timed() { # LABEL: runs `herald feeds fetch`, prints wall, peak RSS and a summary
    local label=$1
    /usr/bin/time -o "$out/time.txt" -f "%e %M" "$bin" --database-url "sqlite://$db" feeds fetch >"$out/fetch.txt"
    read -r wall rss <"$out/time.txt"
    local new notmod
    new=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "new,") s += $(i - 1) } END { print s + 0 }' "$out/fetch.txt")
    notmod=$(grep -c "not modified" "$out/fetch.txt" || true)
    printf "%-44s %8.2f %9.1f %8s %12s\n" "$label" "$wall" "$(echo "$rss / 1024" | bc -l)" "$new" "$notmod"
    eval "${2}=$wall"
}

echo "Herald feed benchmark on $(nproc) cores: $feeds feeds x $entries entries ($((bytes / 1024)) KiB), SQLite, python http.server"
printf "%-44s %8s %9s %8s %12s\n" run "wall s" "RSS MB" "new" "not modified"
timed "first fetch (everything new)" first
timed "second fetch (unchanged, conditional GET)" second
sqlite3 "$db" "UPDATE feeds SET etag = NULL, last_modified = NULL"
timed "third fetch (unchanged, no validators)" third
stories=$(sqlite3 "$db" "SELECT COUNT(*) FROM stories")
echo "stories stored: $stories"
verdict() { if [ "$(echo "$1" | bc -l)" -eq 1 ]; then echo pass; else echo FAIL; fi; }
printf "target: first fetch <= 10 s: %.2f s  %s\n" "$first" "$(verdict "$first <= 10")"
printf "target: unchanged refetch <= 1 s: %.2f s  %s\n" "$second" "$(verdict "$second <= 1")"
