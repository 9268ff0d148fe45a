#!/usr/bin/env bash
# Publishes this server's single HTTPS/WSS port on a relay host through an SSH reverse tunnel,
# and keeps it up: keep-alives detect a dead link, and a reconnect loop with exponential
# backoff (1 s … 60 s) brings it back.
#
#   RELAY=me@relay.example.org npm run tunnel
#
# Settings (environment):
#   RELAY         user@host of the relay (required)
#   RELAY_PORT    port opened on the relay (default 8443; below 1024 needs root there)
#   RELAY_BIND    address the relay listens on: '' (all addresses, sent as '*'; needs
#                 GatewayPorts yes or clientspecified there, else sshd binds loopback only)
#                 or 127.0.0.1 when a reverse proxy on the relay forwards to it (default '')
#   LOCAL_PORT    this server's port (default: $PORT or 8443)
#   PUBLIC_URL    what users open (default https://<relay host>:<RELAY_PORT>/)
#   SSH_KEY       identity file (optional)
#   SSH_OPTS      extra ssh options, split on whitespace, no globbing, no quoting (optional), e.g.
#                 '-p 2222 -o ServerAliveInterval=5'. They come first, and ssh keeps the first
#                 value of an option, so they override the defaults below. Values containing
#                 spaces (ProxyCommand …) belong in an ssh config file: SSH_OPTS='-F file'.
set -u

RELAY="${RELAY:-}"
if [ -z "$RELAY" ]; then
  echo "usage: RELAY=user@relay.example.org [RELAY_PORT=8443] npm run tunnel" >&2
  exit 2
fi
RELAY_PORT="${RELAY_PORT:-8443}"
RELAY_BIND="${RELAY_BIND:-}"
LOCAL_PORT="${LOCAL_PORT:-${PORT:-8443}}"
relay_host="${RELAY#*@}"
case "$relay_host" in *:*) relay_host="[${relay_host}]" ;; esac  # IPv6 literal in a URL
PUBLIC_URL="${PUBLIC_URL:-https://${relay_host}:${RELAY_PORT}/}"

# With no bind address ssh asks the relay for "localhost", which GatewayPorts=clientspecified
# honours (loopback only); '*' means all addresses under both yes and clientspecified.
forward="${RELAY_BIND:-*}:${RELAY_PORT}:127.0.0.1:${LOCAL_PORT}"

extra=()
# read -a splits on whitespace without pathname expansion (an unquoted $SSH_OPTS would glob).
[ -n "${SSH_OPTS:-}" ] && read -r -d '' -a extra <<<"$SSH_OPTS"
ssh_args=(${extra[@]+"${extra[@]}"} -N -T  # (this form: bash 3.2 + set -u)
  -o ExitOnForwardFailure=yes
  -o ConnectTimeout=20
  -o ServerAliveInterval=15
  -o ServerAliveCountMax=3
  -o TCPKeepAlive=yes
  -o StrictHostKeyChecking=accept-new
  -o BatchMode=yes
  -R "$forward")
[ -n "${SSH_KEY:-}" ] && ssh_args+=(-i "$SSH_KEY")

# On INT/TERM/HUP stop the ssh child (or the backoff sleep) and leave the loop. Background jobs
# of a script ignore SIGINT, so Ctrl-C reaches ssh only through this trap. Never `kill 0`: an
# empty pid would signal the whole process group (npm, the terminal's other jobs).
stop=0 pid='' nap=''
on_signal() {
  stop=1
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  [ -n "$nap" ] && kill "$nap" 2>/dev/null
  return 0
}
trap on_signal INT TERM HUP

backoff=1
while [ "$stop" -eq 0 ]; do
  echo "tunnel: forwarding ${RELAY}:${RELAY_PORT} -> 127.0.0.1:${LOCAL_PORT}"
  echo "tunnel: public URL ${PUBLIC_URL} (add ?token=… from the server's start banner)"
  started=$(date +%s)
  # `--` ends the options: a RELAY that begins with "-" is a host name, never an ssh option.
  ssh "${ssh_args[@]}" -- "$RELAY" &
  pid=$!
  [ "$stop" -eq 1 ] && kill "$pid" 2>/dev/null  # signal landed before pid was set
  wait "$pid"
  code=$?
  # A trapped signal makes `wait` return at once: wait again so ssh is gone before "stopped".
  if [ "$stop" -eq 1 ]; then wait "$pid" 2>/dev/null; break; fi
  pid=''
  # A link that stayed up a while was healthy: start the backoff again from 1 s.
  if [ $(( $(date +%s) - started )) -ge 60 ]; then backoff=1; fi
  echo "tunnel: ssh exited with code ${code}; reconnecting in ${backoff} s" >&2
  sleep "$backoff" &
  nap=$!
  [ "$stop" -eq 1 ] && kill "$nap" 2>/dev/null  # signal landed before nap was set
  wait "$nap"
  nap=''
  backoff=$(( backoff * 2 )); [ "$backoff" -gt 60 ] && backoff=60
done
echo "tunnel: stopped"
