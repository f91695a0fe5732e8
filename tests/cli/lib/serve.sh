# Shared by tests/cli/serve_*.sh: start `loom serve` on a free loopback port and talk to it.
# Sourcing it defines fail(), $d (stories260K's folder) and $tmp (removed at exit, with the
# server stopped).
fail() { echo "FAIL: $*"; [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null; exit 1; }
d="${LOOM_DATA:-$LOOM_SOURCE_DIR/../shared/data}/models/stories260K"
[ -f "$d/stories260K.gguf" ] || fail "missing $d (set LOOM_DATA)"
command -v curl >/dev/null || fail "curl not installed"
SERVER_PID=""
tmp=$(mktemp -d)
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$tmp"' EXIT
# start_server LOG ARGS... sets SERVER_PID and BASE (http://127.0.0.1:PORT); fails after 10 s.
start_server() {
  local log=$1
  shift
  "$LOOM" serve --port 0 "$@" 2>"$log" &
  SERVER_PID=$!
  local port=""
  for _ in $(seq 1 100); do
    port=$(grep -o 'on http://127.0.0.1:[0-9]*' "$log" | grep -o '[0-9]*$')
    [ -n "$port" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log"; return 1; }
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$log"; return 1; }
  BASE="http://127.0.0.1:$port"
}
# post PATH JSON [curl args...]: prints the body, then the HTTP status on its own last line.
post() {
  local path=$1 body=$2
  shift 2
  curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' "$@" -d "$body" "$BASE$path"
}
# field JSON EXPR: a Python expression over the parsed JSON `j`.
field() { /usr/bin/python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
# expect STATUS PARAM_OR_CODE RESPONSE: status matches and error.param or error.code is named.
expect() {
  local status=$1 what=$2 r=$3 body
  [ "$(tail -n1 <<<"$r")" = "$status" ] || fail "expected $status ($what): ${r:0:400}"
  body=$(head -n -1 <<<"$r")
  [ "$(field "$body" "j['error'].get('param') == '$what' or j['error'].get('code') == '$what'")" = True ] ||
    fail "expected $what in: ${body:0:400}"
}
