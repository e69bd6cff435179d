#!/usr/bin/env bash
# Screenshots of the digest in two languages, from the rendered snapshots of
# tests/it/i18n_digest.rs (the real templates and catalogs): an Arabic
# digest (tests/it/snapshots/i18n/digest.ar.html) and an English digest
# with Arabic stories (digest.en.html), 375 and 640 px wide, light and
# dark, images on (placeholders as in shoot.sh). Refresh the snapshots
# first (UPDATE_EXPECT=1 cargo test --test it i18n_digest::) when the
# templates change.
#
#   usage: docs/screenshots/shoot-i18n.sh
#
# Needs chromium, pngquant and an Arabic font (fonts-noto-core: Noto Naskh
# Arabic, Noto Sans Arabic). Writes
# docs/screenshots/digest-{ar,en-mixed}-{375,640}-{light,dark}.png.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=docs/screenshots
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/images"

for lang in ar en; do
    src=tests/it/snapshots/i18n/digest.$lang.html
    grep -o 'src="https://news.example.com/images/[^"]*"' "$src" | sort -u |
        sed 's/^src="//; s/"$//' | while read -r url; do
            name=$(basename "$url")
            hue=$(( $(printf '%s' "$url" | cksum | cut -d' ' -f1) % 360 ))
            cat >"$work/images/$name.svg" <<SVG
<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="675" viewBox="0 0 1200 675">
<rect width="1200" height="675" fill="hsl($hue,55%,82%)"/>
<circle cx="880" cy="200" r="90" fill="hsl($(( (hue + 50) % 360 )),85%,92%)"/>
<path d="M0 470 L260 300 L470 430 L700 250 L1200 520 L1200 675 L0 675 Z" fill="hsl($hue,35%,45%)"/>
<path d="M0 560 L300 440 L620 560 L900 470 L1200 580 L1200 675 L0 675 Z" fill="hsl($hue,40%,30%)"/>
</svg>
SVG
        done
    sed -E "s#https://news.example.com/images/([^\"]*)#file://$work/images/\\1.svg#g" "$src" >"$work/digest.$lang.html"
done

# As in shoot.sh: Georgia is Noto Serif here. Arabic text falls back to
# fontconfig's Arabic fonts (Noto Naskh Arabic / Noto Sans Arabic).
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

for lang in ar en; do
    name=$lang; [ "$lang" = en ] && name=en-mixed
    for width in 375 640; do
        for scheme in light dark; do
            png="$out/digest-$name-$width-$scheme.png"
            h=$(python3 "$out/cdp.py" "$work/digest.$lang.html" "$width" "$scheme" on "$png")
            pngquant --force --skip-if-larger --quality=50-80 --speed 1 --output "$png" -- "$png" || true
            printf '%s  %4s px wide  %-5s  %5s px tall  %s bytes\n' \
                "$png" "$width" "$scheme" "$h" "$(stat -c %s "$png")"
        done
    done
done
