#!/usr/bin/env bash
# Tidemark side-by-side benchmark (`make bench`); see bench/README.md.
#
# Runs the same wrk load (bench/lua/) against nginx (a fixed-body ceiling for
# this machine's HTTP path; GetItem and PutItem only), dynalite, and tidemark
# (--sync full and --sync off), one server at a time, all on 127.0.0.1, and
# prints req/s, p50, p99 and errors per run plus the ratios.  Every process
# it starts is stopped on exit, whatever happens.
#
# Knobs (environment):
#   BENCH_DURATION   wrk -d per run                             (10s)
#   BENCH_CONNS      wrk -c values, space separated              ("16")
#   BENCH_THREADS    wrk -t                                      (1)
#   BENCH_REPEAT     runs per (target, op, conns); the median req/s run of
#                    the quiet ones is reported, errors of every run count (1)
#   BENCH_OPS        operations, any of: getitem putitem updateitem query
#                    batchwrite scan gsi-write        ("getitem putitem")
#   BENCH_TARGETS    "nginx dynalite tidemark-full tidemark-off" or a subset
#   BENCH_EXTERNAL   already running endpoints to bench too, "name=URL ..."
#                    (not started or stopped here; table created if absent)
#   BENCH_ITEMS      items preloaded for GetItem                 (10000)
#   BENCH_PIN        1: wrk on BENCH_WRK_CPUS, servers on BENCH_SERVER_CPUS
#                    (taskset); 0: no pinning; auto (default): pin if
#                    taskset exists and there are 2+ CPUs
#   BENCH_WRK_CPUS / BENCH_SERVER_CPUS                           (0 / 1)
#   BENCH_DYNALITE   disk (LevelDB under the temp dir, default) or memory
#   BENCH_AUTH       Authorization header value sent on every request, or
#                    "none" (default: a dummy SigV4 header; dynalite wants one)
#   BENCH_DATA_DIR   parent of the temp dir (tidemark --data, dynalite
#                    --path, nginx files)                 (${TMPDIR:-/tmp})
#   BENCH_KEEP       1: keep the temp dir
#   BENCH_WRK_TIMEOUT  wrk --timeout: slower answers count as errors  (2s)
#   BENCH_START_TIMEOUT  seconds a server gets to start answering   (30)
#   BENCH_PRELOAD_MAX    seconds cap on the preload and on its check  (300)
#   BENCH_SCAN_TIMEOUT  wrk --timeout of the scan runs (1 MB pages)   (30s)
#   BENCH_FSYNC      auto (default): count fsync/fdatasync calls of tidemark
#                    during its write runs with `perf stat` (syscall
#                    tracepoints) when perf can; 0: don't
#   TIDEMARK_BIN     tidemark binary                       (build/tidemark)
#
# Each timed run also reports "other CPU": what the rest of the machine used
# meanwhile, in % of one core; report.py flags runs above 10% as noisy.
#
# Exit status: 0 when every run was clean; 1 when any run had errors (non-2xx,
# socket errors, timeouts, missing items) or a target failed to set up.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
LUA="$BENCH/lua"
cd "$ROOT" || exit 1

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNS:-16}
THREADS=${BENCH_THREADS:-1}
REPEAT=${BENCH_REPEAT:-1}
OPS=${BENCH_OPS:-getitem putitem}
TARGETS=${BENCH_TARGETS:-nginx dynalite tidemark-full tidemark-off}
EXTERNAL=${BENCH_EXTERNAL:-}
ITEMS=${BENCH_ITEMS:-10000}
PIN=${BENCH_PIN:-auto}
WRK_CPUS=${BENCH_WRK_CPUS:-0}
SERVER_CPUS=${BENCH_SERVER_CPUS:-1}
DYNALITE_MODE=${BENCH_DYNALITE:-disk}
WRK_TIMEOUT=${BENCH_WRK_TIMEOUT:-2s}
TIDEMARK=${TIDEMARK_BIN:-build/tidemark}
START_TIMEOUT=${BENCH_START_TIMEOUT:-30}     # seconds for a server to answer
PRELOAD_MAX=${BENCH_PRELOAD_MAX:-300}        # seconds cap on preload/verify
SCAN_TIMEOUT=${BENCH_SCAN_TIMEOUT:-30s}
FSYNC=${BENCH_FSYNC:-auto}
PRELOAD_CONNS=16
TABLE=notes
# Query: QUERY_USERS partitions of exactly QUERY_PAGE notes; scan: SCAN_ITEMS
# 1000-byte items in SCAN_TABLE, read SCAN_LIMIT at a time (lua/common.lua).
QUERY_USERS=100
QUERY_PAGE=100
SCAN_TABLE=pages
SCAN_ITEMS=2000
SCAN_LIMIT=1000
BATCH=25
# gsi-write: PutItem into GSI0_TABLE (no index) and GSI2_TABLE (two GSIs),
# otherwise alike, alternating run by run.
GSI0_TABLE=notes_gsi0
GSI2_TABLE=notes_gsi2
export BENCH_TABLE=$TABLE BENCH_ITEMS=$ITEMS BENCH_QUERY_USERS=$QUERY_USERS \
  BENCH_QUERY_PAGE=$QUERY_PAGE BENCH_SCAN_TABLE=$SCAN_TABLE \
  BENCH_SCAN_ITEMS=$SCAN_ITEMS BENCH_SCAN_LIMIT=$SCAN_LIMIT

DEFAULT_AUTH="AWS4-HMAC-SHA256 Credential=AKIDTIDEMARKBENCH/20261125/us-east-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000"
AUTH=${BENCH_AUTH:-$DEFAULT_AUTH}
export BENCH_AUTH=$AUTH
if [ "$AUTH" = none ]; then
  AUTH_CURL=()
else
  AUTH_CURL=(-H "Authorization: $AUTH" -H "X-Amz-Date: 20261125T000000Z")
fi

say() { printf '%s\n' "$*"; }
warn() { printf 'bench: %s\n' "$*" >&2; }
die() { warn "$*"; exit 1; }

# ---- checks ---------------------------------------------------------------

for t in $TARGETS; do
  case $t in
    nginx|dynalite|tidemark-full|tidemark-off) ;;
    *) die "unknown target '$t' in BENCH_TARGETS" ;;
  esac
done
for op in $OPS; do
  case $op in
    getitem|putitem|updateitem|query|batchwrite|scan|gsi-write) ;;
    *) die "unknown op '$op' in BENCH_OPS (getitem putitem updateitem query batchwrite scan gsi-write)" ;;
  esac
done
for c in $CONNS; do
  [[ $c =~ ^[0-9]+$ ]] && [ "$c" -ge "$THREADS" ] ||
    die "BENCH_CONNS: '$c' must be a number >= BENCH_THREADS ($THREADS)"
done
[[ $REPEAT =~ ^[0-9]+$ ]] && [ "$REPEAT" -gt 0 ] || die "BENCH_REPEAT must be > 0"
[[ $ITEMS =~ ^[0-9]+$ ]] && [ "$ITEMS" -gt 0 ] || die "BENCH_ITEMS must be > 0"
command -v wrk >/dev/null || die "wrk not found (make deps-bench installs it)"
command -v curl >/dev/null || die "curl not found"

has_target() { [[ " $TARGETS " == *" $1 "* ]]; }
has_op() { [[ " $OPS " == *" $1 "* ]]; }

# ops_for TARGET: the BENCH_OPS that target runs.  nginx (a fixed body) is a
# ceiling for GetItem and PutItem only; gsi-write is Tidemark's own check.
ops_for() {
  local op out=()
  for op in $OPS; do
    case $1:$op in
      nginx:getitem|nginx:putitem) out+=("$op") ;;
      nginx:*) ;;
      dynalite:gsi-write) ;;
      *) out+=("$op") ;;
    esac
  done
  echo "${out[*]}"
}

if has_target nginx; then
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  [ -x "$NGINX" ] || die "nginx not found (make deps-bench installs nginx-light)"
fi
if has_target dynalite; then
  command -v node >/dev/null || die "node not found (make deps-bench installs nodejs)"
  if [ ! -f "$BENCH/node_modules/dynalite/cli.js" ]; then
    say "== npm ci (bench/node_modules missing)"
    (cd "$BENCH" && npm ci --no-audit --no-fund) || die "npm ci failed in bench/"
  fi
  case $DYNALITE_MODE in disk|memory) ;; *) die "BENCH_DYNALITE: disk or memory" ;; esac
fi
TIDEMARK_SKIPPED=0
if has_target tidemark-full || has_target tidemark-off; then
  if [ ! -x "$TIDEMARK" ]; then
    say "tidemark: $TIDEMARK not found, skipped"
    TIDEMARK_SKIPPED=1
  fi
fi

if [ "$FSYNC" = auto ]; then
  FSYNC=0
  if command -v perf >/dev/null &&
     perf stat -x, -e syscalls:sys_enter_fdatasync -- true >/dev/null 2>&1; then
    FSYNC=1
  fi
fi

if [ "$PIN" = auto ]; then
  if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PIN=1; else PIN=0; fi
fi
if [ "$PIN" = 1 ]; then
  PIN_WRK=(taskset -c "$WRK_CPUS")
  PIN_SERVER=(taskset -c "$SERVER_CPUS")
else
  PIN_WRK=()
  PIN_SERVER=()
fi

# ---- work dirs, cleanup -----------------------------------------------------

STAMP=$(date +%Y-%m-%dT%H%M%S)
OUT="$BENCH/out"
RAW="$OUT/raw-$STAMP"
mkdir -p "$RAW" || die "cannot create $RAW"
RESULTS="$RAW/results.tsv"
FAILURES="$RAW/failures.txt"
: >"$RESULTS"
: >"$FAILURES"

DATA_PARENT=${BENCH_DATA_DIR:-${TMPDIR:-/tmp}}
mkdir -p "$DATA_PARENT" || die "cannot create $DATA_PARENT"
WORK=$(mktemp -d "$DATA_PARENT/tidemark-bench.XXXXXX") || die "mktemp failed"
DATA_FS=$(stat -f -c %T "$WORK" 2>/dev/null || echo unknown)

PIDS=()
# stop_pid PID [SIG [TENTHS]]: signal, wait up to TENTHS/10 s (5 s), kill.
stop_pid() {
  local pid=$1 sig=${2:-TERM} tenths=${3:-50} i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  kill "-$sig" "$pid" 2>/dev/null
  for i in $(seq "$tenths"); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    warn "pid $pid did not stop on SIG$sig, killing"
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  return 0
}
cleanup() {
  local pid
  trap - EXIT INT TERM PIPE
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    say "bench: kept $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 141' PIPE   # stdout gone (e.g. | head): still clean up

free_port() {
  "$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# ---- noise: CPU used by anything that is not us ----------------------------

# cpu_sample: "<wall ticks> <non-idle ticks of the machine (user, nice,
# system, irq, softirq, steal)> <ticks of this script's process tree>", from
# /proc.  The tree's ticks are user+system plus those of reaped children
# (cutime+cstime), so a wrk that has exited still counts; they include the
# softirq work done in each process's context, which /proc/stat books under
# softirq.
cpu_sample() {
  local f line rest p q sum=0 wall=0 busy=0 ncpu
  local -A parent ticks
  for f in /proc/[0-9]*/stat; do
    read -r line 2>/dev/null <"$f" || continue
    p=${line%% *}
    rest=${line##*) }
    set -- $rest
    parent[$p]=$2
    ticks[$p]=$(( ${12} + ${13} + ${14} + ${15} ))
  done
  for p in "${!ticks[@]}"; do
    q=$p
    while [ -n "$q" ] && [ "$q" -gt 1 ]; do
      if [ "$q" = "$$" ]; then sum=$((sum + ticks[$p])); break; fi
      q=${parent[$q]:-}
    done
  done
  read -r -a f </proc/stat
  ncpu=$(nproc)
  for p in 1 2 3 4 5 6 7 8; do wall=$((wall + f[p])); done
  busy=$((f[1] + f[2] + f[3] + f[6] + f[7] + f[8]))
  echo "$((wall / ncpu)) $busy $sum"
}

# other_pct "<sample before>" "<sample after>": CPU the rest of the machine
# used in between, in % of one core.  Tick accounting is coarse: a quiet
# machine shows a few %.
other_pct() {
  local -a a=($1) b=($2)
  local wall=$((b[0] - a[0])) other=$(( (b[1] - a[1]) - (b[2] - a[2]) ))
  [ "$wall" -gt 0 ] || { echo 0; return; }
  [ "$other" -gt 0 ] || other=0
  echo $((other * 100 / wall))
}

# How busy the machine is before we start: CPU time not idle over 1s, from
# /proc/stat (the load average lags by minutes, and counts our own last run).
cpu_busy_pct() {
  local a b t=0 idle k
  read -r -a a < /proc/stat
  sleep 1
  read -r -a b < /proc/stat
  for k in 1 2 3 4 5 6 7 8; do t=$((t + b[k] - a[k])); done
  idle=$((b[4] - a[4] + b[5] - a[5]))
  [ "$t" -gt 0 ] && echo $(((t - idle) * 100 / t)) || echo 0
}

# ---- talking to an endpoint ---------------------------------------------------

# ddb URL OP JSON: POST one DynamoDB request; sets DDB_CODE and DDB_BODY;
# true when 2xx.
ddb() {
  local out
  out=$(curl -s --max-time 10 -w '\n%{http_code}' -X POST "$1" \
    -H 'Content-Type: application/x-amz-json-1.0' \
    -H "X-Amz-Target: DynamoDB_20120810.$2" "${AUTH_CURL[@]}" \
    --data-binary "$3")
  DDB_CODE=${out##*$'\n'}
  DDB_BODY=${out%$'\n'*}
  [[ $DDB_CODE == 2?? ]]
}

# wait_ready URL PID LOG: until the server answers HTTP at all.
wait_ready() {
  local url=$1 pid=$2 log=$3 i code
  for i in $(seq $((START_TIMEOUT * 10))); do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      warn "server exited before answering; last lines of $log:"
      tail -n 20 "$log" >&2
      return 1
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 -X POST "$url" \
      -H 'Content-Type: application/x-amz-json-1.0' \
      -H 'X-Amz-Target: DynamoDB_20120810.ListTables' "${AUTH_CURL[@]}" \
      -d '{}' 2>/dev/null)
    [ "$code" != 000 ] && return 0
    sleep 0.1
  done
  warn "server did not answer $url within ${START_TIMEOUT}s"
  return 1
}

# create_table URL [NAME [REQUEST]]: CreateTable (an existing table is
# fine), then wait until it and its indexes are ACTIVE.  Default: the notes
# table, HASH userId, RANGE noteId.
create_table() {
  local url=$1 name=${2:-$TABLE} req=${3:-} i
  [ -n "$req" ] || req='{"TableName":"'$name'","AttributeDefinitions":[{"AttributeName":"userId","AttributeType":"S"},{"AttributeName":"noteId","AttributeType":"S"}],"KeySchema":[{"AttributeName":"userId","KeyType":"HASH"},{"AttributeName":"noteId","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST"}'
  if ! ddb "$url" CreateTable "$req"; then
    if [[ $DDB_BODY != *ResourceInUseException* ]]; then
      warn "CreateTable $name: HTTP $DDB_CODE $DDB_BODY"
      return 1
    fi
  fi
  for i in $(seq 300); do
    if ddb "$url" DescribeTable '{"TableName":"'$name'"}' &&
       [[ $DDB_BODY == *'"TableStatus":"ACTIVE"'* ]] &&
       [[ $DDB_BODY != *'"IndexStatus":"CREATING"'* ]]; then
      return 0
    fi
    sleep 0.1
  done
  warn "table $name not ACTIVE after 30s: HTTP $DDB_CODE $DDB_BODY"
  return 1
}

# The gsi-write tables: the notes key schema, with no index and with two
# GSIs projecting ALL (byNote: HASH noteId; byUserCreated: HASH userId,
# RANGE createdAt), so a put into the second writes the item three times.
create_gsi_tables() {
  local url=$1
  create_table "$url" "$GSI0_TABLE" || return 1
  create_table "$url" "$GSI2_TABLE" '{"TableName":"'$GSI2_TABLE'","AttributeDefinitions":[{"AttributeName":"userId","AttributeType":"S"},{"AttributeName":"noteId","AttributeType":"S"},{"AttributeName":"createdAt","AttributeType":"N"}],"KeySchema":[{"AttributeName":"userId","KeyType":"HASH"},{"AttributeName":"noteId","KeyType":"RANGE"}],"GlobalSecondaryIndexes":[{"IndexName":"byNote","KeySchema":[{"AttributeName":"noteId","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}},{"IndexName":"byUserCreated","KeySchema":[{"AttributeName":"userId","KeyType":"HASH"},{"AttributeName":"createdAt","KeyType":"RANGE"}],"Projection":{"ProjectionType":"ALL"}}],"BillingMode":"PAY_PER_REQUEST"}'
}

# One PutItem and one GetItem by curl, so a server that rejects the requests
# says why before any load is run.
smoke() {
  local url=$1
  local item='{"TableName":"'$TABLE'","Item":{"userId":{"S":"smoke"},"noteId":{"S":"smoke"},"title":{"S":"t"},"body":{"S":"b"},"createdAt":{"N":"1"}}}'
  if ! ddb "$url" PutItem "$item"; then
    warn "smoke PutItem: HTTP $DDB_CODE $DDB_BODY"
    return 1
  fi
  if ! ddb "$url" GetItem '{"TableName":"'$TABLE'","Key":{"userId":{"S":"smoke"},"noteId":{"S":"smoke"}}}' ||
     [[ $DDB_BODY != *'"Item"'* ]]; then
    warn "smoke GetItem: HTTP $DDB_CODE $DDB_BODY"
    return 1
  fi
}

# parse_result FILE: BENCH_RESULT key=value line -> R_<key> variables.
parse_result() {
  local line kv
  line=$(grep '^BENCH_RESULT ' "$1" | tail -n 1)
  [ -n "$line" ] || return 1
  for kv in ${line#BENCH_RESULT }; do
    printf -v "R_${kv%%=*}" '%s' "${kv#*=}"
  done
  R_errors=$((R_connect + R_read + R_write + R_status + R_timeout + R_misses))
}

# wrk_counted URL SCRIPT OUTFILE [REQUESTS]: a preload/verify run that stops
# itself after REQUESTS (default BENCH_ITEMS) + 4 x its connections responses
# (it prints BENCH_STOPPED; wrk would otherwise sleep out -d, so it gets
# SIGINT).
wrk_counted() {
  local url=$1 script=$2 out=$3 n=${4:-$ITEMS} pid i
  BENCH_STOP_AFTER=$((n + 4 * PRELOAD_CONNS)) \
    "${PIN_WRK[@]}" wrk -t1 -c"$PRELOAD_CONNS" -d"${PRELOAD_MAX}s" \
    --timeout "$WRK_TIMEOUT" -s "$script" "$url" >"$out" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  for i in $(seq $((PRELOAD_MAX * 10))); do
    grep -q '^BENCH_STOPPED' "$out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  stop_pid "$pid" INT
  parse_result "$out" || { warn "no result from $script (see $out)"; return 1; }
  if ! grep -q '^BENCH_STOPPED' "$out"; then
    warn "$(basename "$script") did not finish within ${PRELOAD_MAX}s"
    return 1
  fi
  if [ "$R_errors" != 0 ]; then
    warn "$(basename "$script"): $R_errors errors (status $R_status, misses $R_misses, socket $((R_connect + R_read + R_write)), timeouts $R_timeout)"
    return 1
  fi
}

preload() {
  local url=$1 name=$2
  say "   preload $ITEMS items (PutItem, c$PRELOAD_CONNS)"
  wrk_counted "$url" "$LUA/preload.lua" "$RAW/$name-preload.txt" || return 1
  say "   preloaded: ${R_requests} puts in ${R_duration_s}s (${R_rps}/s)"
  wrk_counted "$url" "$LUA/verify.lua" "$RAW/$name-verify.txt" || return 1
  say "   verified: every GetItem found its item"
}

# preload_query URL NAME: the Query partitions, by BatchWriteItem; then one
# Query of each partition by curl must say Count 100.
preload_query() {
  local url=$1 name=$2 u n=$((QUERY_USERS * QUERY_PAGE))
  say "   preload $QUERY_USERS x $QUERY_PAGE notes for Query (BatchWriteItem of $BATCH, c$PRELOAD_CONNS)"
  BENCH_PRELOAD=query wrk_counted "$url" "$LUA/preload_batch.lua" \
    "$RAW/$name-preload-query.txt" $((n / BATCH)) || return 1
  say "   preloaded: ${R_requests} batches in ${R_duration_s}s (${R_rps}/s)"
  for ((u = 0; u < QUERY_USERS; u++)); do
    if ! ddb "$url" Query '{"TableName":"'$TABLE'","KeyConditionExpression":"userId = :u","ExpressionAttributeValues":{":u":{"S":"q'$u'"}},"Limit":'$QUERY_PAGE'}' ||
       ! [[ $DDB_BODY =~ \"Count\"[[:space:]]*:[[:space:]]*$QUERY_PAGE[^0-9] ]]; then
      warn "Query of q$u: not Count $QUERY_PAGE: HTTP $DDB_CODE ${DDB_BODY:0:300}"
      return 1
    fi
  done
  say "   verified: each of the $QUERY_USERS partitions answers Count $QUERY_PAGE (${#DDB_BODY}-byte answer)"
}

# preload_scan URL NAME: the Scan table, by BatchWriteItem; then one Scan by
# curl must return Count 1000 and a LastEvaluatedKey (the Limit, not the end
# of the table or the 1 MB cap, ended the page).
preload_scan() {
  local url=$1 name=$2
  create_table "$url" "$SCAN_TABLE" '{"TableName":"'$SCAN_TABLE'","AttributeDefinitions":[{"AttributeName":"id","AttributeType":"S"}],"KeySchema":[{"AttributeName":"id","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}' || return 1
  say "   preload $SCAN_ITEMS items of 1000 bytes for Scan (BatchWriteItem of $BATCH, c$PRELOAD_CONNS)"
  BENCH_PRELOAD=scan wrk_counted "$url" "$LUA/preload_batch.lua" \
    "$RAW/$name-preload-scan.txt" $((SCAN_ITEMS / BATCH)) || return 1
  say "   preloaded: ${R_requests} batches in ${R_duration_s}s (${R_rps}/s)"
  if ! ddb "$url" Scan '{"TableName":"'$SCAN_TABLE'","Limit":'$SCAN_LIMIT'}' ||
     ! [[ $DDB_BODY =~ \"Count\"[[:space:]]*:[[:space:]]*$SCAN_LIMIT[^0-9] ]] ||
     [[ $DDB_BODY != *'"LastEvaluatedKey"'* ]]; then
    warn "Scan Limit $SCAN_LIMIT: not a full page: HTTP $DDB_CODE ${DDB_BODY:0:200} ... ${DDB_BODY: -200}"
    return 1
  fi
  say "   verified: Scan Limit $SCAN_LIMIT answers Count $SCAN_LIMIT with a LastEvaluatedKey (${#DDB_BODY}-byte answer)"
}

# fsync_start PID: count PID's fsync and fdatasync calls (all its threads)
# with perf's syscall tracepoints until fsync_stop; sets FSYNC_PID.
fsync_start() {
  FSYNC_PID=
  [ "$FSYNC" = 1 ] && [ -n "$1" ] || return 0
  perf stat -x, -o "$FSYNC_OUT" \
    -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync -p "$1" \
    >/dev/null 2>&1 &
  FSYNC_PID=$!
  PIDS+=("$FSYNC_PID")
  sleep 0.2   # perf attaches before the load starts
}

# fsync_stop: stop perf; prints the count, or -1 when not measured.
fsync_stop() {
  [ -n "$FSYNC_PID" ] || { echo -1; return; }
  stop_pid "$FSYNC_PID" INT
  awk -F, '/syscalls:sys_enter_f(data)?sync/ { n += $1; seen = 1 }
           END { print seen ? n : -1 }' "$FSYNC_OUT" 2>/dev/null || echo -1
}

# run_one NAME URL PID OP LABEL SCRIPT CONNS REP [VAR=VALUE...]: one timed
# wrk run, one line in results.tsv (op column: LABEL).
run_one() {
  local name=$1 url=$2 pid=$3 op=$4 label=$5 script=$6 c=$7 rep=$8
  shift 8
  local out="$RAW/$name-$label-c$c-r$rep.txt" rc before other timeout=$WRK_TIMEOUT
  local fsyncs=-1
  [ "$op" = scan ] && timeout=$SCAN_TIMEOUT
  export BENCH_RUN_TAG="$name-c$c-r$rep-$RANDOM$RANDOM"
  FSYNC_OUT="$RAW/$name-$label-c$c-r$rep.fsync.txt"
  FSYNC_PID=
  case $name:$op in
    tidemark-*:putitem|tidemark-*:updateitem|tidemark-*:batchwrite|tidemark-*:gsi-write)
      fsync_start "$pid" ;;
  esac
  before=$(cpu_sample)
  # In the background and waited for: a trapped INT/TERM interrupts
  # `wait` at once, where a foreground wrk (which catches SIGINT
  # itself) would leave bash carrying on.
  env "$@" "${PIN_WRK[@]}" wrk -t"$THREADS" -c"$c" -d"$DURATION" \
    --timeout "$timeout" -s "$LUA/$script.lua" "$url" >"$out" 2>&1 &
  PIDS+=("$!")
  wait "$!"
  rc=$?
  other=$(other_pct "$before" "$(cpu_sample)")
  fsyncs=$(fsync_stop)
  if [ $rc != 0 ] || ! parse_result "$out"; then
    warn "$name $label c$c: wrk failed (exit $rc), see $out"
    tail -n 5 "$out" >&2
    echo "$name $label c$c: wrk failed (exit $rc)" >>"$FAILURES"
    return 0
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$name" "$label" "$c" "$rep" "$R_rps" "$R_p50_ms" "$R_p90_ms" "$R_p99_ms" \
    "$R_mean_ms" "$R_max_ms" "$R_requests" "$R_duration_s" \
    "$R_connect" "$R_read" "$R_write" "$R_status" "$R_timeout" "$R_misses" \
    "$other" "$fsyncs" >>"$RESULTS"
  printf '   %-10s c%-4s %10s req/s  p50 %s ms  p99 %s ms  errors %s  other CPU %s%%%s%s\n' \
    "$label" "$c" "$R_rps" "$R_p50_ms" "$R_p99_ms" "$R_errors" "$other" \
    "$([ "$fsyncs" = -1 ] || echo "  fsyncs $fsyncs")" \
    "$([ "$REPEAT" = 1 ] || echo "  (run $rep/$REPEAT)")"
  if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
    warn "$name exited during $label c$c"
    echo "$name: server exited during $label c$c" >>"$FAILURES"
    return 1
  fi
}

# load NAME URL PID OPS: the timed runs, op by op in BENCH_OPS order, each
# connection count, each BENCH_REPEAT times (report.py keeps the median).
# gsi-write is two loads run alternately: PutItem into the table without an
# index (put-gsi0) and into the one with two GSIs (put-gsi2).
load() {
  local name=$1 url=$2 pid=$3 ops=$4 op c rep
  for op in $ops; do
    for c in $CONNS; do
      for rep in $(seq "$REPEAT"); do
        if [ "$op" = gsi-write ]; then
          run_one "$name" "$url" "$pid" "$op" put-gsi0 putitem "$c" "$rep" \
            BENCH_TABLE="$GSI0_TABLE" || return 1
          run_one "$name" "$url" "$pid" "$op" put-gsi2 putitem "$c" "$rep" \
            BENCH_TABLE="$GSI2_TABLE" || return 1
        else
          run_one "$name" "$url" "$pid" "$op" "$op" "$op" "$c" "$rep" || return 1
        fi
      done
    done
  done
}

# bench_dynamo NAME URL PID LOG: table, smoke, preload, load.
bench_dynamo() {
  local name=$1 url=$2 pid=$3 log=$4
  wait_ready "$url" "$pid" "$log" || return 1
  local ops
  ops=$(ops_for "$name")
  create_table "$url" || return 1
  smoke "$url" || return 1
  if has_op getitem || has_op updateitem; then
    preload "$url" "$name" || return 1
  fi
  if has_op query; then preload_query "$url" "$name" || return 1; fi
  if has_op scan; then preload_scan "$url" "$name" || return 1; fi
  if [[ " $ops " == *" gsi-write "* ]]; then
    create_gsi_tables "$url" || return 1
  fi
  load "$name" "$url" "$pid" "$ops"
}

# start_server NAME LOG CMD...: sets SERVER_PID.
start_server() {
  local name=$1 log=$2
  shift 2
  "${PIN_SERVER[@]}" "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
}

fail_target() {
  warn "$1: $2"
  echo "$1: $2" >>"$FAILURES"
}

# ---- targets ------------------------------------------------------------------

NGINX_BODY='{"Item":{"userId":{"S":"u42"},"noteId":{"S":"n0000042"},"title":{"S":"Groceries and errands for the weekend"},"body":{"S":"Milk, eggs, bread, coffee beans; pick up the parcel at the post office; call the plumber about the kitchen sink before Friday."},"createdAt":{"N":"1764000000042"}}}'

run_nginx() {
  if [ -z "$(ops_for nginx)" ]; then
    say "== nginx: skipped (it stands in for getitem and putitem only)"
    return 0
  fi
  local dir="$WORK/nginx" port url log
  mkdir -p "$dir/logs" "$dir/tmp"
  port=$(free_port) || return 1
  url="http://127.0.0.1:$port/"
  cat >"$dir/nginx.conf" <<EOF
# generated by bench/run.sh
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/client_body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 75s;
  server {
    listen 127.0.0.1:$port;
    location / {
      default_type application/x-amz-json-1.0;
      return 200 '$NGINX_BODY';
    }
  }
}
EOF
  say "== nginx $("$NGINX" -v 2>&1 | sed 's/^nginx version: //') on $url (fixed $((${#NGINX_BODY}))-byte body)"
  log="$RAW/nginx.log"
  start_server nginx "$log" "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log"
  local pid=$SERVER_PID
  if wait_ready "$url" "$pid" "$log"; then
    load nginx "$url" "$pid" "$(ops_for nginx)" || true
  else
    fail_target nginx "did not start (see $log, $dir/logs/error.log)"
  fi
  cp "$dir/logs/error.log" "$RAW/nginx-error.log" 2>/dev/null
  stop_pid "$pid"
}

run_dynalite() {
  local port url log args ver
  port=$(free_port) || return 1
  url="http://127.0.0.1:$port/"
  ver=$(node -p 'require(process.argv[1]).version' "$BENCH/node_modules/dynalite/package.json" 2>/dev/null)
  args=(--host 127.0.0.1 --port "$port")
  if [ "$DYNALITE_MODE" = disk ]; then
    args+=(--path "$WORK/dynalite")
  fi
  say "== dynalite $ver ($DYNALITE_MODE) on $url"
  log="$RAW/dynalite.log"
  start_server dynalite "$log" node "$BENCH/node_modules/dynalite/cli.js" "${args[@]}"
  local pid=$SERVER_PID
  bench_dynamo dynalite "$url" "$pid" "$log" ||
    fail_target dynalite "setup or load failed (server log: $log)"
  stop_pid "$pid"
}

run_tidemark() {
  local sync=$1 name="tidemark-$1" port url log
  port=$(free_port) || return 1
  url="http://127.0.0.1:$port/"
  say "== $name: $TIDEMARK serve --sync $sync on $url, data on $DATA_FS"
  log="$RAW/$name.log"
  mkdir -p "$WORK/$name"
  start_server "$name" "$log" "$TIDEMARK" serve --host 127.0.0.1 --port "$port" \
    --data "$WORK/$name" --sync "$sync"
  local pid=$SERVER_PID
  bench_dynamo "$name" "$url" "$pid" "$log" ||
    fail_target "$name" "setup or load failed (server log: $log)"
  # tidemark waits up to 10 s for requests in flight on SIGTERM (and, after
  # a --sync full write load, has been seen to wait all 10 s): give it 15.
  stop_pid "$pid" TERM 150
}

run_external() {
  local name=$1 url=$2
  say "== $name (external) on $url"
  bench_dynamo "$name" "$url" "" "/dev/null" ||
    fail_target "$name" "setup or load failed"
}

say "bench: wrk -t$THREADS -c{$CONNS} -d$DURATION x$REPEAT, ops: $OPS, $ITEMS items preloaded"
if [ "$FSYNC" = 1 ]; then
  say "bench: counting tidemark's fsync/fdatasync calls in write runs (perf stat)"
fi
if [ "$PIN" = 1 ]; then
  say "bench: wrk on CPU $WRK_CPUS, servers on CPU $SERVER_CPUS (taskset)"
else
  say "bench: no CPU pinning"
fi
say "bench: temp/data dir $WORK ($DATA_FS)"
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
BUSY_START=$(cpu_busy_pct 2>/dev/null || echo 0)
say "bench: CPU busy ${BUSY_START}% over the last second (load average $LOADAVG_START)"
if [ "$BUSY_START" -gt 10 ]; then
  warn "the machine is not idle (${BUSY_START}% CPU busy before start): figures will be noisy, pinned runs especially"
fi
if [ "$DATA_FS" = tmpfs ] && has_target tidemark-full; then
  warn "data dir is on tmpfs: tidemark-full's fsync costs nothing there; set BENCH_DATA_DIR to a disk"
fi

for t in $TARGETS; do
  case $t in
    nginx) run_nginx ;;
    dynalite) run_dynalite ;;
    tidemark-full|tidemark-off)
      [ "$TIDEMARK_SKIPPED" = 1 ] || run_tidemark "${t#tidemark-}" ;;
  esac
done
for e in $EXTERNAL; do
  [[ $e == *=* ]] || die "BENCH_EXTERNAL entries are name=URL, got '$e'"
  run_external "${e%%=*}" "${e#*=}"
done

JSON="$OUT/results-$STAMP.json"
export BENCH_DURATION=$DURATION BENCH_CONNS="$CONNS" BENCH_THREADS=$THREADS \
  BENCH_REPEAT=$REPEAT BENCH_BATCH=$BATCH BENCH_SCAN_LIMIT=$SCAN_LIMIT \
  BENCH_QUERY_PAGE=$QUERY_PAGE BENCH_SCAN_TIMEOUT=$SCAN_TIMEOUT \
  BENCH_OPS="$OPS" BENCH_TARGETS="$TARGETS" BENCH_PIN=$PIN \
  BENCH_WRK_CPUS=$WRK_CPUS BENCH_SERVER_CPUS=$SERVER_CPUS \
  BENCH_DYNALITE=$DYNALITE_MODE BENCH_WRK_TIMEOUT=$WRK_TIMEOUT \
  BENCH_DATA_FS=$DATA_FS BENCH_TIDEMARK_SKIPPED=$TIDEMARK_SKIPPED \
  TIDEMARK_BIN=$TIDEMARK BENCH_NGINX_BODY_BYTES=${#NGINX_BODY} \
  BENCH_LOADAVG_START="$LOADAVG_START" BENCH_CPU_BUSY_START=$BUSY_START \
  BENCH_LOADAVG_END="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
"$PY" "$BENCH/report.py" "$RESULTS" "$FAILURES" "$JSON" "$RAW"
