# Source this from .ci/run before `cargo test` (bash): `. crates/vigil-server/ci-setup.sh`
#
# It prepares what vigil-server's tests need beyond cargo, and exports:
#   VIGIL_TEST_POSTGRES_URL  postgres://vigil@127.0.0.1:PORT/postgres — a throwaway PostgreSQL 15 cluster
#                            (initdb in a temp dir, loopback only, trust auth, fsync off: test data only);
#                            the API test suite runs a second time on it (a fresh database per test).
#   VIGIL_TEST_CHROMEDRIVER  path of chromedriver (Debian chromium-driver, matching /usr/bin/chromium);
#                            the end-to-end browser test drives headless Chromium through it.
# Without them the tests print "skipping: ..." and run on SQLite only / skip the browser test.
#
# It defines `vigil_server_ci_teardown`, which stops the cluster and removes its directory.
# Returns non-zero (without exiting the caller) when a step fails, naming the step.

vigil_server_ci_setup() {
    local pgbin=""
    for dir in /usr/lib/postgresql/*/bin /usr/local/bin /usr/bin; do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then pgbin="$dir"; break; fi
    done
    if [ -z "$pgbin" ]; then
        echo "ci-setup: installing postgresql (initdb not found)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || {
            echo "ci-setup: apt-get install postgresql failed" >&2; return 1; }
        for dir in /usr/lib/postgresql/*/bin; do pgbin="$dir"; done
    fi
    if ! command -v chromedriver >/dev/null 2>&1; then
        echo "ci-setup: installing chromium-driver"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null || {
            echo "ci-setup: apt-get install chromium-driver failed" >&2; return 1; }
    fi
    export VIGIL_TEST_CHROMEDRIVER="$(command -v chromedriver)"

    # PostgreSQL refuses to run as root: the cluster belongs to an unprivileged user.
    local pguser=postgres
    id "$pguser" >/dev/null 2>&1 || pguser=nobody
    VIGIL_PG_DIR="$(mktemp -d /tmp/vigil-pg.XXXXXX)"
    export VIGIL_PG_DIR
    chown "$pguser" "$VIGIL_PG_DIR"
    local port
    port=$(( 20000 + (RANDOM % 20000) ))
    local as=(runuser -u "$pguser" --)
    [ "$(id -u)" = 0 ] || as=()
    "${as[@]}" "$pgbin/initdb" -D "$VIGIL_PG_DIR/data" -U vigil --auth=trust -E UTF8 --no-locale >"$VIGIL_PG_DIR/initdb.log" 2>&1 || {
        echo "ci-setup: initdb failed; see $VIGIL_PG_DIR/initdb.log" >&2; return 1; }
    "${as[@]}" "$pgbin/pg_ctl" -D "$VIGIL_PG_DIR/data" -l "$VIGIL_PG_DIR/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $VIGIL_PG_DIR -c fsync=off -c max_connections=200" start >/dev/null || {
        echo "ci-setup: pg_ctl start failed; see $VIGIL_PG_DIR/server.log" >&2; return 1; }
    VIGIL_PG_BIN="$pgbin"
    VIGIL_PG_AS="$pguser"
    export VIGIL_TEST_POSTGRES_URL="postgres://vigil@127.0.0.1:$port/postgres"
    echo "ci-setup: PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, chromedriver $VIGIL_TEST_CHROMEDRIVER"
}

vigil_server_ci_teardown() {
    if [ -n "${VIGIL_PG_DIR:-}" ] && [ -d "$VIGIL_PG_DIR/data" ]; then
        if [ "$(id -u)" = 0 ]; then
            runuser -u "$VIGIL_PG_AS" -- "$VIGIL_PG_BIN/pg_ctl" -D "$VIGIL_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
        else
            "$VIGIL_PG_BIN/pg_ctl" -D "$VIGIL_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
        fi
        rm -rf "$VIGIL_PG_DIR"
    fi
    unset VIGIL_TEST_POSTGRES_URL VIGIL_PG_DIR
}

vigil_server_ci_setup
