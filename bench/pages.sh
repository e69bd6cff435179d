#!/usr/bin/env bash
# The reader-facing pages, as a browser gets them from `herald run`:
# imports the sample stories, sends one daily edition into a file outbox,
# signs a reader up through POST /subscribe, then fetches every page
# (subscribe, confirm, confirmed, preferences, unsubscribe, view in
# browser, archive, an archived edition, a bad link) and the signup box
# `herald form` prints, in English and again in Arabic and French (an
# Arabic and a French reader, a signup from each language, the public
# pages asked for with ?lang= or Accept-Language), and
#   1. checks each with html-validate (HTML_VALIDATE=path/to/html-validate,
#      else node_modules/.bin/html-validate here or in /tmp/hv, else npx);
#   2. with SHOTS=1, takes headless-Chromium screenshots at 375 px, light
#      and dark, into docs/pages/ (pngquant/optipng shrink them when
#      installed), the browser in Asia/Amman; the Arabic signup and
#      preferences pages too.
#
#   bench/pages.sh            # validate
#   SHOTS=1 bench/pages.sh    # validate and refresh docs/pages/*.png
#
# Needs python3 and curl; html-validate (npm install html-validate) and,
# for SHOTS, /usr/bin/chromium. Writes to bench/out/pages. Exit status 1
# when a page does not validate.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out/pages
rm -rf "$out"
mkdir -p "$out/html"

cargo build --quiet
bin=$PWD/${CARGO_TARGET_DIR:-target}/debug/herald
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export RUST_LOG=warn
export HERALD_DATABASE__URL="sqlite://$PWD/$out/herald.db"
export HERALD_MAIL__TRANSPORT=file
export HERALD_MAIL__OUTBOX_DIR="$PWD/$out/outbox"
export HERALD_ARCHIVE__ENABLED=true
export HERALD_HTTP__LISTEN="127.0.0.1:$port"
export HERALD_SITE__PUBLIC_URL="$base"
export HERALD_SITE__NAME="Example News"
export HERALD_SUBSCRIBERS__DEFAULT_TIMEZONE="Europe/Lisbon"

"$bin" migrate > /dev/null
"$bin" stories import examples/stories.json > /dev/null
"$bin" subscribers add ana@example.com --name "Ana Lima" --timezone Europe/Lisbon > /dev/null
"$bin" subscribers add leila@example.com --name "ليلى حداد" --timezone Asia/Amman --locale ar > /dev/null
"$bin" subscribers add lea@example.com --name "Léa Martin" --timezone Europe/Paris --locale fr > /dev/null
"$bin" send --date 2026-03-10 --now 2026-03-10T07:00:00Z > /dev/null

"$bin" run 2> "$out/run.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -sf "$base/healthz" > /dev/null && break
    sleep 0.1
done

# A link of the given path from the newest message in the outbox for `to`.
link() {
    python3 - "$out/outbox" "$1" "$2" <<'PY'
import email, email.policy, pathlib, re, sys
box, to, path = sys.argv[1:]
msgs = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in pathlib.Path(box).glob("*.eml")]
msgs = [m for m in msgs if to in str(m["To"])]
for m in msgs:
    text = "\n".join(str(m[h]) for h in ("List-Unsubscribe",) if m[h]) + m.get_body(("plain",)).get_content()
    found = re.search(r"https?://[^\s<>]*" + re.escape(path) + r"[^\s<>]*", text)
    if found:
        print(found.group(0)); break
PY
}

token=$(link ana@example.com /unsubscribe/ | sed 's|.*/unsubscribe/||')
curl -sf -o /dev/null -d "email=new%40example.com&tz=Asia%2FAmman" "$base/subscribe"
declare -A tokens confirms
tokens[ar]=$(link leila@example.com /unsubscribe/ | sed 's|.*/unsubscribe/||')
tokens[fr]=$(link lea@example.com /unsubscribe/ | sed 's|.*/unsubscribe/||')
# One signup by the form's language, one by the browser's.
curl -sf -o /dev/null -d "email=new-ar%40example.com&tz=Asia%2FAmman&lang=ar" "$base/subscribe"
curl -sf -o /dev/null -H "Accept-Language: fr-FR,fr;q=0.9,en;q=0.5" -d "email=new-fr%40example.com&tz=Europe%2FParis" "$base/subscribe"
sleep 1
confirm=$(link new@example.com /confirm/)
confirms[ar]=$(link new-ar@example.com /confirm/)
confirms[fr]=$(link new-fr@example.com /confirm/)

get() { curl -s -o "$out/html/$1.html" "$2"; }
get subscribe "$base/subscribe"
get confirm "$confirm"
get preferences "$base/preferences/$token"
get unsubscribe "$base/unsubscribe/$token"
get view "$base/view/$token/daily-2026-03-10"
get archive "$base/archive"
get archive-edition "$base/archive/daily-2026-03-10"
get not-found "$base/view/$token/daily-2026-03-09"
curl -s -o "$out/feed.xml" "$base/archive/feed.xml"
"$bin" form --sections world,technology --frequency > "$out/html/snippet.html"
pages=(subscribe confirm confirmed preferences unsubscribe archive archive-edition not-found snippet)
for l in ar fr; do
    get "subscribe-$l" "$base/subscribe?lang=$l"
    get "confirm-$l" "${confirms[$l]}"
    get "preferences-$l" "$base/preferences/${tokens[$l]}"
    get "unsubscribe-$l" "$base/unsubscribe/${tokens[$l]}"
    curl -s -o "$out/html/archive-$l.html" -H "Accept-Language: $l" "$base/archive"
    get "archive-edition-$l" "$base/archive/daily-2026-03-10?lang=$l"
    curl -s -o "$out/html/not-found-$l.html" -H "Accept-Language: $l" "$base/preferences/not-a-token"
    "$bin" form --sections world,technology --frequency --locale $l > "$out/html/snippet-$l.html"
    for p in subscribe confirm confirmed preferences unsubscribe archive archive-edition not-found snippet; do
        pages+=("$p-$l")
    done
done

if [ "${SHOTS:-0}" = 1 ]; then
    mkdir -p docs/pages
    for page in subscribe confirm preferences unsubscribe view archive archive-edition subscribe-ar preferences-ar; do
        case $page in
            subscribe) url="$base/subscribe" ;;
            confirm) url="$confirm" ;;
            preferences) url="$base/preferences/$token" ;;
            unsubscribe) url="$base/unsubscribe/$token" ;;
            view) url="$base/view/$token/daily-2026-03-10" ;;
            archive) url="$base/archive" ;;
            archive-edition) url="$base/archive/daily-2026-03-10" ;;
            subscribe-ar) url="$base/subscribe?lang=ar" ;;
            preferences-ar) url="$base/preferences/${tokens[ar]}" ;;
        esac
        for scheme in light dark; do
            flags=(--blink-settings=preferredColorScheme=1)
            [ $scheme = dark ] && flags=(--blink-settings=preferredColorScheme=0)
            file=docs/pages/$page-$scheme.png
            TZ=Asia/Amman /usr/bin/chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "${flags[@]}" \
                --window-size=375,900 --screenshot="$PWD/$file" "$url" > /dev/null 2>&1
            command -v pngquant > /dev/null && pngquant --force --skip-if-larger --quality 60-85 --output "$file" "$file" || true
            command -v optipng > /dev/null && optipng -quiet -o2 "$file" || true
            echo "$file $(stat -c %s "$file") bytes"
        done
    done
fi
# Confirming last: the confirmation page's screenshot needs the reader pending.
curl -s -o "$out/html/confirmed.html" -d "timezone=Asia%2FAmman&send_hour=7" "$confirm"
for l in ar fr; do
    curl -s -o "$out/html/confirmed-$l.html" -d "send_hour=7" "${confirms[$l]}"
done

validator=${HTML_VALIDATE:-}
for candidate in node_modules/.bin/html-validate /tmp/hv/node_modules/.bin/html-validate; do
    [ -z "$validator" ] && [ -x "$candidate" ] && validator=$candidate
done
validator=${validator:-npx --yes html-validate}
# Not the view page: it is the digest itself (templates/digest.html), mail
# HTML for mail clients (layout tables, presentational attributes) that the
# recommended rules reject by design. Inline styles are allowed: the signup
# box carries its honeypot's, as it is pasted into pages Herald does not
# style; checkboxes of one group share their name.
status=0
files=()
for p in "${pages[@]}"; do
    files+=("$out/html/$p.html")
    grep -q . "$out/html/$p.html" || { echo "$p: empty page"; status=1; }
    # Each translated page is in its language, right to left for Arabic.
    case $p in
        *-ar) grep -q 'lang="ar" dir="rtl"' "$out/html/$p.html" || { echo "$p: not an Arabic page"; status=1; } ;;
        *-fr) grep -q 'lang="fr[^"]*" dir="ltr"' "$out/html/$p.html" || { echo "$p: not a French page"; status=1; } ;;
    esac
done
$validator --config bench/pages-htmlvalidate.json "${files[@]}" || status=1
echo "html-validate: pages $( [ $status = 0 ] && echo ok || echo FAILED)"

exit $status
