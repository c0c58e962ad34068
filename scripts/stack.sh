#!/usr/bin/env bash
# The project's local stack of real engines: PostgreSQL 15, Redis and a single-node Kafka 4.1 (KRaft),
# installed and started by this script alone, on ports of our own, with all state under .stack/.
#
#   bash scripts/stack.sh up       install what is missing, start all three, wait until each answers
#   bash scripts/stack.sh down     stop all three (idempotent; data is kept under .stack/data)
#   bash scripts/stack.sh status   one line per service; exit 0 only when all three answer
#   bash scripts/stack.sh env      print the export lines the tests read (eval "$(bash scripts/stack.sh env)")
#   bash scripts/stack.sh kafka-up / kafka-down   only Kafka (tests that restart their own broker, with
#                                  QOB_STACK_DIR and ports of their own; QOB_STACK_KAFKA_LIBS reuses jars)
#
# Install steps need root (apt-get) on a clean Debian 12 machine; as another user everything already
# installed is used and a missing piece is reported. Ports and timeouts: see the QOB_STACK_* variables below.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="${QOB_STACK_DIR:-$ROOT/.stack}"
PG_PORT="${QOB_STACK_PG_PORT:-55432}"
REDIS_PORT="${QOB_STACK_REDIS_PORT:-56379}"
KAFKA_PORT="${QOB_STACK_KAFKA_PORT:-59092}"
KAFKA_CONTROLLER_PORT="${QOB_STACK_KAFKA_CONTROLLER_PORT:-59093}"
KAFKA_HEAP="${QOB_STACK_KAFKA_HEAP:-512m}"
TIMEOUT="${QOB_STACK_TIMEOUT:-90}"                 # seconds to wait for each service to answer
FETCH_TIMEOUT="${QOB_STACK_FETCH_TIMEOUT:-600}"    # seconds for apt-get / Maven downloads
KAFKA_VERSION="4.1.1"
KAFKA_LIBS_RECIPE="$KAFKA_VERSION-r2"      # bump when the pom below changes: refetches the jars
PG_BIN="/usr/lib/postgresql/15/bin"
PG_DB="qob"
HOST="127.0.0.1"

LOGS="$STACK/logs"
DATA="$STACK/data"
RUN="$STACK/run"
KAFKA_LIBS="${QOB_STACK_KAFKA_LIBS:-$STACK/kafka-libs}"
PG_DATA="$DATA/pg"
REDIS_DATA="$DATA/redis"
KAFKA_DATA="$DATA/kafka"
KAFKA_PID="$RUN/kafka.pid"
REDIS_PID="$RUN/redis.pid"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }
is_root() { [[ "$(id -u)" -eq 0 ]]; }

# Run a PostgreSQL binary as the user that owns the cluster: `postgres` when we are root (the server
# refuses to run as root), ourselves otherwise.
as_pg() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# wait_until SECONDS WHAT LOGFILE COMMAND...: poll COMMAND every half second.
wait_until() {
  local secs="$1" what="$2" logfile="$3"; shift 3
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "$what did not answer within ${secs}s; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 2>/dev/null || true
      die "$what not ready (timeout ${secs}s)"
    fi
    sleep 0.5
  done
}

# ---------------------------------------------------------------------------------------------- install

APT_UPDATED=0
apt_install() {
  is_root || die "missing packages ($*): run 'bash scripts/stack.sh up' as root once, or apt-get install $*"
  command -v apt-get >/dev/null || die "missing packages ($*) and no apt-get: install them yourself"
  export DEBIAN_FRONTEND=noninteractive
  if ((APT_UPDATED == 0)); then
    log "apt-get update"
    timeout "$FETCH_TIMEOUT" apt-get update -qq >"$LOGS/apt.log" 2>&1 || { tail -n 20 "$LOGS/apt.log" >&2; die "apt-get update failed"; }
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  # The packages would start their own system-wide servers (5432, 6379): forbid that during the install
  # (policy-rc.d exit 101 = "not allowed"), unless the machine already has a policy of its own.
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [[ ! -e "$policy" ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1; fi
  local rc=0
  timeout "$FETCH_TIMEOUT" apt-get install -y -qq --no-install-recommends "$@" >>"$LOGS/apt.log" 2>&1 || rc=$?
  if ((own_policy)); then rm -f "$policy"; fi
  ((rc == 0)) || { tail -n 20 "$LOGS/apt.log" >&2; die "apt-get install $* failed (see $LOGS/apt.log)"; }
}

install_missing() {
  local pkgs=()
  [[ -x "$PG_BIN/pg_ctl" ]] || pkgs+=(postgresql-15)
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null || pkgs+=(redis-server)
  java_ok || pkgs+=(openjdk-17-jre-headless)
  if [[ ! -f "$KAFKA_LIBS/.complete-$KAFKA_LIBS_RECIPE" ]] && ! command -v mvn >/dev/null; then pkgs+=(maven); fi
  if ((${#pkgs[@]})); then apt_install "${pkgs[@]}"; fi
  java_ok || die "Java 17 or newer is needed for Kafka $KAFKA_VERSION"
}

java_ok() {
  command -v java >/dev/null || return 1
  local v
  v="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)"
  [[ -n "$v" && "$v" -ge 17 ]]
}

# Kafka's jars from Maven Central through a throwaway pom (no tarball, no Docker). Cached: done once.
fetch_kafka() {
  [[ -f "$KAFKA_LIBS/.complete-$KAFKA_LIBS_RECIPE" ]] && return 0
  # Jars borrowed from another stack are never deleted or downloaded here.
  [[ -z "${QOB_STACK_KAFKA_LIBS:-}" ]] || die "QOB_STACK_KAFKA_LIBS=$KAFKA_LIBS holds no complete Kafka jars ($KAFKA_LIBS_RECIPE)"
  local work="$STACK/kafka-pom"
  mkdir -p "$work"
  rm -rf "$KAFKA_LIBS"
  cat >"$work/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.qob</groupId>
  <artifactId>kafka-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <!-- Kafka logs through SLF4J 1.7 and ships log4j2 without the binding between them. -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
EOF
  log "downloading Kafka $KAFKA_VERSION jars from Maven Central (once; cached in $KAFKA_LIBS)"
  timeout "$FETCH_TIMEOUT" mvn -B -q -f "$work/pom.xml" -Dmaven.repo.local="$STACK/m2" \
    dependency:copy-dependencies -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime \
    >"$LOGS/maven.log" 2>&1 || { tail -n 30 "$LOGS/maven.log" >&2; die "Maven download of Kafka failed (see $LOGS/maven.log)"; }
  ls "$KAFKA_LIBS"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "Maven finished but kafka_2.13-$KAFKA_VERSION.jar is missing"
  touch "$KAFKA_LIBS/.complete-$KAFKA_LIBS_RECIPE"
}

# -------------------------------------------------------------------------------------------- PostgreSQL

pg_psql() { psql -X -q -h "$HOST" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }
pg_server_ready() { "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -U postgres; }
# pg_isready does not check that the database exists: ask the server.
pg_ready() { pg_server_ready && [[ "$(pg_psql -d "$PG_DB" -tAc 'select 1' 2>/dev/null)" == 1 ]]; }

pg_up() {
  if pg_ready; then log "postgres already up on $HOST:$PG_PORT"; return 0; fi
  if ! pg_server_ready; then
    mkdir -p "$PG_DATA" "$RUN/pg"
    touch "$LOGS/postgres.log"
    if is_root; then chown postgres:postgres "$PG_DATA" "$RUN/pg" "$LOGS/postgres.log"; fi
    chmod 700 "$PG_DATA"
    if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
      log "initdb $PG_DATA"
      as_pg "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$LOGS/initdb.log" 2>&1 \
        || { tail -n 20 "$LOGS/initdb.log" >&2; die "initdb failed (see $LOGS/initdb.log)"; }
    fi
    log "starting postgres on $HOST:$PG_PORT"
    # Test-only durability settings: a crash may lose the last commits, which a throwaway stack accepts.
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$LOGS/postgres.log" -w -t "$TIMEOUT" \
      -o "-p $PG_PORT -k '$RUN/pg' -c listen_addresses=$HOST -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null 9>&- || { tail -n 20 "$LOGS/postgres.log" >&2; die "postgres did not start (see $LOGS/postgres.log)"; }
    wait_until "$TIMEOUT" postgres "$LOGS/postgres.log" pg_server_ready
  fi
  if [[ "$(pg_psql -d postgres -tAc "select 1 from pg_database where datname = '$PG_DB'")" != 1 ]]; then
    log "creating database $PG_DB"
    pg_psql -d postgres -c "CREATE DATABASE $PG_DB" >/dev/null || die "CREATE DATABASE $PG_DB failed"
  fi
  wait_until "$TIMEOUT" "postgres database $PG_DB" "$LOGS/postgres.log" pg_ready
  log "postgres ready"
}

pg_down() {
  if [[ -f "$PG_DATA/postmaster.pid" ]]; then
    log "stopping postgres"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t "$TIMEOUT" stop >/dev/null 2>&1 \
      || log "pg_ctl stop reported an error (already stopped?)"
  fi
}

# ------------------------------------------------------------------------------------------------- Redis

redis_ready() { [[ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]; }

redis_up() {
  if redis_ready; then log "redis already up on $HOST:$REDIS_PORT"; return 0; fi
  mkdir -p "$REDIS_DATA"
  log "starting redis on $HOST:$REDIS_PORT"
  redis-server --port "$REDIS_PORT" --bind "$HOST" --save '' --appendonly no --daemonize yes \
    --dir "$REDIS_DATA" --pidfile "$REDIS_PID" --logfile "$LOGS/redis.log" 9>&- \
    || die "redis-server did not start (see $LOGS/redis.log)"
  wait_until "$TIMEOUT" redis "$LOGS/redis.log" redis_ready
  log "redis ready"
}

redis_down() {
  if redis_ready; then
    log "stopping redis"
    redis-cli -h "$HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 20))
    while redis_ready && ((SECONDS < deadline)); do sleep 0.2; done
  fi
  rm -f "$REDIS_PID"
}

# ------------------------------------------------------------------------------------------------- Kafka

kafka_pid() {
  [[ -f "$KAFKA_PID" ]] || return 1
  local pid; pid="$(cat "$KAFKA_PID")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

kafka_java() { java -Dlog4j2.configurationFile="$STACK/kafka/log4j2.properties" -cp "$KAFKA_LIBS/*" "$@"; }

# A real metadata round trip: the broker must be registered with its controller, not just listening.
# With @platformatic/kafka installed, a tiny Node script; otherwise Kafka's own topic tool.
kafka_metadata() {
  local node="$ROOT/node_modules/.bin/node"
  if [[ -x "$node" && -d "$ROOT/node_modules/@platformatic/kafka" ]]; then
    "$node" "$ROOT/scripts/stack-kafka-check.mjs" "$HOST:$KAFKA_PORT"
  else
    kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" --list >/dev/null
  fi
}

kafka_start() {
  if kafka_pid >/dev/null; then
    log "kafka already running (pid $(kafka_pid))"
  else
    if port_open "$KAFKA_PORT" || port_open "$KAFKA_CONTROLLER_PORT"; then
      die "port $KAFKA_PORT or $KAFKA_CONTROLLER_PORT is taken by another process: set QOB_STACK_KAFKA_PORT / QOB_STACK_KAFKA_CONTROLLER_PORT"
    fi
    mkdir -p "$STACK/kafka" "$KAFKA_DATA"
    cat >"$STACK/kafka/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
EOF
    cat >"$STACK/kafka/log4j2.properties" <<EOF
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = $LOGS/kafka-server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
EOF
    if [[ ! -f "$KAFKA_DATA/meta.properties" ]]; then
      local cluster_id
      cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid 2>>"$LOGS/kafka-format.log")" \
        || die "kafka random-uuid failed (see $LOGS/kafka-format.log)"
      log "formatting kafka storage (cluster $cluster_id)"
      kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$STACK/kafka/server.properties" \
        >>"$LOGS/kafka-format.log" 2>&1 || { tail -n 20 "$LOGS/kafka-format.log" >&2; die "kafka storage format failed"; }
    fi
    log "starting kafka on $HOST:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
    # setsid: the broker outlives this script, in its own session, until `down` kills it by pid file.
    setsid java -Xms128m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$STACK/kafka/log4j2.properties" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$STACK/kafka/server.properties" \
      >"$LOGS/kafka.log" 2>&1 </dev/null 9>&- &
    echo $! >"$KAFKA_PID"
  fi
}

kafka_wait() {
  local pid; pid="$(cat "$KAFKA_PID" 2>/dev/null || true)"
  [[ -n "$pid" ]] || die "kafka pid file $KAFKA_PID is missing or empty"
  local deadline=$((SECONDS + TIMEOUT))
  until port_open "$KAFKA_PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$LOGS/kafka.log" "$LOGS/kafka-server.log" >&2 2>/dev/null || true
      rm -f "$KAFKA_PID"
      die "kafka exited during start (logs above, in $LOGS)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$LOGS/kafka.log" "$LOGS/kafka-server.log" >&2 2>/dev/null || true
      die "kafka port $KAFKA_PORT not open within ${TIMEOUT}s"
    fi
    sleep 0.5
  done
  wait_until "$TIMEOUT" "kafka metadata" "$LOGS/kafka-server.log" kafka_metadata
  log "kafka ready"
}

kafka_down() {
  local pid
  if pid="$(kafka_pid)"; then
    log "stopping kafka (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null; do
      if ((SECONDS >= deadline)); then log "kafka did not stop in 30s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; break; fi
      sleep 0.3
    done
  fi
  rm -f "$KAFKA_PID"
}

# ------------------------------------------------------------------------------------------- subcommands

env_lines() {
  echo "export QOB_TEST_PG_URL=postgres://postgres@$HOST:$PG_PORT/$PG_DB"
  echo "export QOB_TEST_REDIS_URL=redis://$HOST:$REDIS_PORT"
  echo "export QOB_TEST_KAFKA_BROKERS=$HOST:$KAFKA_PORT"
}

status() {
  local bad=0
  if pg_ready; then echo "postgres  up    $HOST:$PG_PORT/$PG_DB"; else echo "postgres  down  $HOST:$PG_PORT"; bad=1; fi
  if redis_ready; then echo "redis     up    $HOST:$REDIS_PORT"; else echo "redis     down  $HOST:$REDIS_PORT"; bad=1; fi
  local pid
  if pid="$(kafka_pid)" && port_open "$KAFKA_PORT"; then echo "kafka     up    $HOST:$KAFKA_PORT (pid $pid)"
  elif pid="$(kafka_pid)"; then echo "kafka     starting (pid $pid, port $KAFKA_PORT not open)"; bad=1
  else echo "kafka     down  $HOST:$KAFKA_PORT"; bad=1; fi
  return "$bad"
}

up() {
  local t0=$SECONDS
  install_missing
  fetch_kafka
  # Kafka is the slowest to start: launch it first, and bring the others up while its JVM warms.
  kafka_start
  pg_up
  redis_up
  kafka_wait
  log "stack up in $((SECONDS - t0))s"
  env_lines >&2
}

kafka_up() {
  java_ok || die "Java 17 or newer is needed for Kafka $KAFKA_VERSION"
  fetch_kafka
  kafka_start
  kafka_wait
}

down() {
  kafka_down
  redis_down
  pg_down
  log "stack down"
}

# One `up` or `down` at a time. The servers started here must not inherit fd 9 (hence `9>&-` on each
# launch), or they would hold the lock for their whole life.
with_lock() {
  local wait="$1"; shift
  mkdir -p "$STACK" "$LOGS" "$RUN"
  exec 9>"$STACK/.lock"
  flock -w "$wait" 9 || die "another stack.sh still holds $STACK/.lock after ${wait}s"
  "$@"
}

case "${1:-}" in
  up) with_lock "$FETCH_TIMEOUT" up ;;
  down) with_lock "$TIMEOUT" down ;;
  status) status ;;
  env) env_lines ;;
  kafka-up) with_lock "$FETCH_TIMEOUT" kafka_up ;;
  kafka-down) with_lock "$TIMEOUT" kafka_down ;;
  *) echo "usage: bash scripts/stack.sh up|down|status|env|kafka-up|kafka-down" >&2; exit 2 ;;
esac
