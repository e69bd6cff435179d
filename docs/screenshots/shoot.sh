#!/usr/bin/env bash
# Screenshots of a realistic digest (10 news stories and 5 blog posts from
# the bundled samples) with Debian's headless Chromium: 375 and 640 px wide,
# light and dark, images on and off; prints each page's height. The samples'
# image URLs do not resolve, so every image is replaced by a local SVG
# placeholder (a coloured landscape, 16:9) before the screenshots.
#
#   usage: docs/screenshots/shoot.sh [HERALD_BINARY]   (default target/debug/herald)
#
# Needs chromium, pngquant and fonts-liberation2 (apt-get install chromium
# pngquant fonts-liberation2); cdp.py beside this script drives Chromium. Writes
# docs/screenshots/digest-{375,640}-{light,dark}-images-{on,off}.png and
# leaves docs/screenshots/digest.html (the previewed HTML, images as sent).
set -euo pipefail
cd "$(dirname "$0")/../.."
herald=${1:-target/debug/herald}
out=docs/screenshots
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export HERALD_DATABASE__URL="sqlite://$work/herald.db"
"$herald" migrate >/dev/null
"$herald" stories import examples/stories.json >/dev/null
"$herald" subscribers import examples/subscribers.csv >/dev/null
# maya@example.com follows every section; on 9 March the window holds ten
# stories and five blog posts.
"$herald" preview maya@example.com --date 2026-03-09 --now 2026-03-09T07:00:00Z \
    --format html --out "$out/digest.html"

# One placeholder per image URL, its colour taken from the URL.
mkdir -p "$work/images"
grep -o 'src="https://news.example.com/images/[^"]*"' "$out/digest.html" | sort -u |
    sed 's/^src="//; s/"$//' | while read -r url; do
        name=$(basename "$url")
        hue=$(( $(printf '%s' "$url" | cksum | cut -d' ' -f1) % 360 ))
        cat >"$work/images/$name.svg" <<SVG
<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="675" viewBox="0 0 1200 675">
<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
<stop offset="0" stop-color="hsl($hue,55%,78%)"/><stop offset="1" stop-color="hsl($(( (hue + 30) % 360 )),60%,90%)"/>
</linearGradient></defs>
<rect width="1200" height="675" fill="url(#sky)"/>
<circle cx="880" cy="200" r="90" fill="hsl($(( (hue + 50) % 360 )),85%,92%)"/>
<path d="M0 470 L260 300 L470 430 L700 250 L1200 520 L1200 675 L0 675 Z" fill="hsl($hue,35%,45%)"/>
<path d="M0 560 L300 440 L620 560 L900 470 L1200 580 L1200 675 L0 675 Z" fill="hsl($hue,40%,30%)"/>
</svg>
SVG
    done
sed -E "s#https://news.example.com/images/([^\"]*)#file://$work/images/\\1.svg#g" "$out/digest.html" >"$work/digest.html"

# Georgia is not installed here: use Noto Serif, about as wide, rather than
# fontconfig's fallback (Liberation Serif, with Times's narrower metrics).
# Arial and Helvetica are Liberation Sans (fonts-liberation2), same metrics.
cat >"$work/fonts.conf" <<'XML'
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
<include ignore_missing="yes">/etc/fonts/fonts.conf</include>
<match target="pattern"><test name="family"><string>Georgia</string></test>
<edit name="family" mode="assign" binding="strong"><string>Noto Serif</string></edit></match>
</fontconfig>
XML
export FONTCONFIG_FILE="$work/fonts.conf"

for width in 375 640; do
    for scheme in light dark; do
        for images in on off; do
            png="$out/digest-$width-$scheme-images-$images.png"
            h=$(python3 "$out/cdp.py" "$work/digest.html" "$width" "$scheme" "$images" "$png")
            pngquant --force --skip-if-larger --quality=60-90 --speed 1 --output "$png" -- "$png" || true
            printf '%s  %4s px wide  %-5s  images %-3s  %5s px tall  %s bytes\n' \
                "$png" "$width" "$scheme" "$images" "$h" "$(stat -c %s "$png")"
        done
    done
done
