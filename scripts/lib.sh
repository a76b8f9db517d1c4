#!/usr/bin/env bash
# Shared helpers for scripts/demo and scripts/test: install what is missing, start what is down.
# Idempotent: every step checks before it acts.

# Installs Debian packages that are not installed yet; runs `apt-get update` once per call.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "Rust is required (cargo not found). Install it with rustup: https://rustup.rs" >&2
    exit 1
  fi
}

ensure_nextest() {
  command -v cargo-nextest >/dev/null 2>&1 || cargo install --locked cargo-nextest
}

# Waits up to $2 seconds for `$1` (a command) to succeed.
wait_for() {
  local check=$1 seconds=$2
  for _ in $(seq 1 "$seconds"); do
    eval "$check" >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "timed out waiting for: $check" >&2
  return 1
}

# PostgreSQL on 127.0.0.1:5432 (trust auth, db `test`), started if it is installed but down.
ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return 0; fi
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  wait_for "pg_isready -q -h 127.0.0.1 -p 5432" 30
}

# MariaDB on 127.0.0.1:3306 (root, empty password, db `test`).
ensure_mariadb() {
  if mysqladmin --protocol=tcp -h 127.0.0.1 -uroot ping >/dev/null 2>&1; then return 0; fi
  echo "starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_for "mysqladmin --protocol=tcp -h 127.0.0.1 -uroot ping" 30
}

# Redis on 127.0.0.1:6379 (live counters tests), started if installed but down.
ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return 0; fi
  echo "starting Redis"
  start-stop-daemon --start --oknodo --background --exec /usr/bin/redis-server -- --bind 127.0.0.1 --port 6379 --save ''
  wait_for "redis-cli -h 127.0.0.1 -p 6379 ping" 30
}

# NATS with JetStream on 127.0.0.1:4222 (event feed tests), started if installed but down.
ensure_nats() {
  if (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then return 0; fi
  echo "starting NATS (JetStream)"
  mkdir -p /var/lib/nats-hotline
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-hotline
  wait_for "(exec 3<>/dev/tcp/127.0.0.1/4222)" 30
}

# npm packages of a folder with a package-lock.json (the browser tests' playwright-core).
ensure_npm() {
  local dir=$1
  command -v npm >/dev/null 2>&1 || { echo "npm is required (it comes with Node.js)" >&2; exit 1; }
  [ -d "$dir/node_modules" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ] && return 0
  echo "npm ci in $dir"
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
}

# PyPI packages (pinned), installed for the current python3 when missing.
ensure_pip() {
  local missing=()
  for spec in "$@"; do
    python3 -m pip show "${spec%%==*}" >/dev/null 2>&1 || missing+=("$spec")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "pip installing: ${missing[*]}"
  # Debian's own python3 refuses installs outside a virtualenv (PEP 668) unless told.
  python3 -m pip install --quiet --disable-pip-version-check "${missing[@]}" 2>/dev/null ||
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${missing[@]}"
}
