#!/usr/bin/env bash
# DKIM signing benchmark: builds the release example `dkim_rate`, makes a
# 2048-bit RSA key and an Ed25519 key with openssl, and prints how many ~27 KB
# digests one core composes per second without DKIM and signed with each key
# (and the signing time alone), next to `openssl speed -seconds 3 rsa2048`
# (sign/s on one core) measured in the same run, with the ratio of Herald's
# RSA signing rate to openssl's. The machine's load is printed before and
# after. Everything it writes goes to bench/out/dkim.
#
#   bench/dkim.sh [SECONDS]    # seconds per measurement, default 3
#
# Needs openssl.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3}
out=bench/out/dkim
mkdir -p "$out"
command -v openssl >/dev/null || { echo "error: openssl not found" >&2; exit 2; }

cargo build --release --quiet --example dkim_rate
[ -f "$out/rsa.pem" ] || openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$out/rsa.pem" 2>/dev/null
[ -f "$out/ed25519.pem" ] || openssl genpkey -algorithm ed25519 -out "$out/ed25519.pem"

echo "load before: $(uptime)"
target/release/examples/dkim_rate "$seconds" "$out/rsa.pem" "$out/ed25519.pem" | tee "$out/herald.txt"
openssl speed -seconds "$seconds" rsa2048 2>/dev/null | tee "$out/openssl.txt" | grep -E '^rsa +2048|^ +sign' || true
echo "load after: $(uptime)"

# openssl's last line for rsa2048 reads "rsa 2048 bits 0.001014s 0.000030s 986.1 33333.3"
# (or "rsa  2048 bits ..." with the encryption columns in OpenSSL 3): the
# first of the two per-second figures is sign/s (the two times are the
# first two fields that are numbers ending in "s": "bits" ends in s too).
openssl_sign=$(awk '/^rsa +2048 bits/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+s$/ && $(i+1) ~ /^[0-9.]+s$/) { print $(i+2); exit } }' "$out/openssl.txt")
herald_rsa=$(awk '/compose\+sign DKIM .*rsa\.pem/ { for (i = 1; i <= NF; i++) if ($i == "alone") { print $(i+1); exit } }' "$out/herald.txt" | tr -d '/s')
herald_rsa_total=$(awk '/compose\+sign DKIM .*rsa\.pem/ { print $4; exit }' "$out/herald.txt")
if [ -n "$openssl_sign" ] && [ -n "$herald_rsa" ]; then
    awk -v h="$herald_rsa" -v t="$herald_rsa_total" -v o="$openssl_sign" 'BEGIN {
        printf "RSA-2048 per core: openssl %.0f sign/s; Herald signing alone %.0f/s (%.2f of openssl), compose+sign %.0f messages/s (%.2f of openssl)\n", o, h, h / o, t, t / o
    }' | tee "$out/summary.txt"
else
    echo "could not read the figures; see $out/openssl.txt and $out/herald.txt" >&2
    exit 1
fi
