#!/usr/bin/env bash
# Instructions per relayed request, under callgrind, for the relay (target/bench build) or nginx.
#   bench/callgrind.sh relay|nginx [N1 N2 [CONCURRENCY]]
# Runs N1 then N2 keep-alive requests at concurrency 1 (or CONCURRENCY) through the target (each in a fresh
# process) and prints (I(N2) - I(N1)) / (N2 - N1), so start-up and shut-down cancel out.
# Out files stay in target/bench/callgrind/ for callgrind_annotate.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-relay}; n1=${2:-2000}; n2=${3:-6000}; conc=${4:-1}
bin=${EASEL_BENCH_TARGET:-$root/target/bench}/relay
out=$root/target/bench/callgrind; mkdir -p "$out/nginx/logs"
up=$((20000 + RANDOM % 10000)); port=$((up + 1))
wait_port() { for _ in $(seq 400); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }
"$bin/examples/bench" upstream 127.0.0.1:$up & upstream=$!
trap 'kill $upstream 2>/dev/null || true' EXIT
wait_port $up
run() { # $1 = requests; prints total instructions
  local file=$out/$what.$1.out
  if [ "$what" = relay ]; then
    OPENAI_API_KEY=sk-bench RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$file" \
      "$bin/easel-relay" --addr 127.0.0.1:$port --upstream-kind compatible \
      --upstream http://127.0.0.1:$up/v1 --rate-limit-per-minute 0 --max-concurrent 100000 \
      --dist /nonexistent >/dev/null 2>"$out/$what.$1.log" & local pid=$!
  else
    cat > "$out/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; master_process off; pid $out/nginx/nginx.pid;
error_log stderr warn; events { worker_connections 4096; }
http { access_log off; client_body_temp_path $out/nginx/body; proxy_temp_path $out/nginx/proxy;
fastcgi_temp_path $out/nginx/fastcgi; uwsgi_temp_path $out/nginx/uwsgi; scgi_temp_path $out/nginx/scgi;
upstream api { server 127.0.0.1:$up; keepalive 256; keepalive_requests 1000000; }
keepalive_requests 1000000;
server { listen 127.0.0.1:$port backlog=4096; location / { proxy_pass http://api;
proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; } } }
CONF
    valgrind --tool=callgrind --callgrind-out-file="$file" "$root/.tools/nginx/usr/sbin/nginx" \
      -p "$out/nginx" -c "$out/nginx/nginx.conf" -e stderr >/dev/null 2>"$out/$what.$1.log" & local pid=$!
  fi
  wait_port $port
  "$bin/examples/bench" count http://127.0.0.1:$port/v1/images/generations "$conc" "$1" >&2
  kill -TERM $pid; wait $pid || true
  sleep 0.3
  grep -E '^(summary|totals):' "$file" | head -1 | awk '{print $2}'
}
i1=$(run "$n1"); i2=$(run "$n2")
echo "$what: $i1 instructions for $n1 requests, $i2 for $n2: $(( (i2 - i1) / (n2 - n1) )) per request"
