# Shared by the package tests: reporting, a work directory cleaned up with whatever was mounted
# in it, Debian roots, the test's own database and queue names, waiting for HTTP.

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tocsin-package.XXXXXX")
MIRROR=${MIRROR:-http://deb.debian.org/debian}
ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres
# Every database of this run is named after it, its queues live in a vhost of that name; all go
# at the end.
RUN_ID=tocsin_pkg_$(date +%s)_$$
PIDS=()

step() { echo "--- $*"; }
pass() { echo "    ok: $*"; }
fail() {
    echo "    FAIL: $*" >&2
    exit 1
}

cleanup() {
    local pid mount
    # Best effort, quietly: what failed was said before.
    exec 2>/dev/null
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    # Innermost mounts first.
    for mount in $(awk -v w="$WORK" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount -l "$mount" 2>/dev/null || true
    done
    for db in $(psql -At "$ADMIN_URL" -c "SELECT datname FROM pg_database WHERE datname LIKE '${RUN_ID}_%'" 2>/dev/null); do
        psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rabbitmqctl -q delete_vhost "$RUN_ID" >/dev/null 2>&1 || true
    [ -z "${MADE_ROLE:-}" ] || psql -q "$ADMIN_URL" -c "DROP ROLE IF EXISTS tocsin" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# A minimal Debian bookworm root with apt, in directory $1.
bookworm_root() {
    mmdebstrap --quiet --variant=minbase \
        --aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Check-Date "false"' \
        bookworm "$1" "$MIRROR" >"$WORK/mmdebstrap.log" 2>&1 ||
        fail "mmdebstrap: $(tail -n 20 "$WORK/mmdebstrap.log")"
}

# Mounts what programs in root $1 expect: /proc, /dev, and the host's name resolution.
enter_root() {
    mount -t proc proc "$1/proc"
    mount --rbind /dev "$1/dev"
    cp /etc/resolv.conf "$1/etc/resolv.conf"
}

# The URL of a database of the run's own (`tocsin migrate` creates it).
database_url() {
    echo "postgres://postgres@127.0.0.1:5432/${RUN_ID}_$1"
}

# The run's own RabbitMQ vhost; prints the AMQP URL that reaches it.
new_vhost() {
    rabbitmqctl -q add_vhost "$RUN_ID" >/dev/null
    rabbitmqctl -q set_permissions -p "$RUN_ID" guest '.*' '.*' '.*' >/dev/null
    echo "amqp://guest:guest@127.0.0.1:5672/$RUN_ID"
}

# The tocsin role the package's configuration connects as, made here unless the server has it.
tocsin_role() {
    if ! psql -At "$ADMIN_URL" -c "SELECT 1 FROM pg_roles WHERE rolname = 'tocsin'" | grep -q 1; then
        psql -q "$ADMIN_URL" -c "CREATE ROLE tocsin LOGIN CREATEDB" >/dev/null
        MADE_ROLE=1
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to $2 seconds for $1 to answer 200.
wait_ok() {
    local i
    for i in $(seq 1 $(($2 * 5))); do
        curl -fs -o /dev/null "$1" && return 0
        sleep 0.2
    done
    return 1
}

# Listens on the unix datagram socket $1 as systemd does for Type=notify, appending what the
# daemon says to $2.
notify_listener() {
    python3 - "$1" "$2" <<'EOF' &
import os, socket, sys
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o777)
while True:
    with open(log, "a") as out:
        out.write(s.recv(4096).decode() + "\n")
EOF
    PIDS+=($!)
}
