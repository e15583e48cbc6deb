#!/usr/bin/env bash
# Makes a self-signed certificate for development: deploy/nginx/ssl/parley.crt + parley.key
# (or the directory given as $1). Browsers will warn; production uses a real certificate.
set -euo pipefail
dir=${1:-"$(dirname "$0")"}
host=${PARLEY_TLS_HOST:-localhost}
mkdir -p "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -sha256 \
  -subj "/CN=$host" \
  -addext "subjectAltName=DNS:$host,DNS:localhost,IP:127.0.0.1" \
  -keyout "$dir/parley.key" -out "$dir/parley.crt" 2>/dev/null
chmod 600 "$dir/parley.key"
echo "wrote $dir/parley.crt and $dir/parley.key"
