#!/usr/bin/env bash
# Makes a self-signed certificate for 127.0.0.1 / localhost, for TLS tests only.
# Usage: make_test_cert.sh DIR   → DIR/cert.pem, DIR/key.pem
set -euo pipefail
dir=${1:?usage: make_test_cert.sh DIR}
mkdir -p "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" \
  -subj "/CN=localhost" \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null
