#!/usr/bin/env bash
# Build the image, run it with a data volume, train a run through the page, restart the
# container and find the run again, then stop it while a run trains. Prints each step and a
# last line `docker: ok` or what failed. Not part of the test suite: it needs a Docker engine.
#
#   scripts/check_docker.sh [--network host|ports] [--base IMAGE | --make-base] [--port N]
#
# --network ports (default) publishes the port (-p N:8501); --network host runs on the host's
# network (for an engine started without a bridge: dockerd --bridge=none --iptables=false).
# --make-base builds a stand-in for python:3.11-slim from Debian's packages with debootstrap,
# for machines that cannot pull from an image registry.
set -uo pipefail
cd "$(dirname "$0")/.."

network=ports
base=python:3.11-slim
make_base=false
port=8531
while [ $# -gt 0 ]; do
  case "$1" in
    --network) network=$2; shift 2 ;;
    --base) base=$2; shift 2 ;;
    --make-base) make_base=true; base=zol-python-base:3.11; shift ;;
    --port) port=$2; shift 2 ;;
    *) echo "unknown option $1"; exit 2 ;;
  esac
done
image=zero-or-one-lab:check
container=zol-check
volume=zol-check-data
url="http://127.0.0.1:$port"

step() { printf '== %s\n' "$*"; }
fail() { printf 'docker: failed: %s\n' "$*"; docker logs --tail 30 "$container" 2>&1 | sed 's/^/   | /'; cleanup; exit 1; }
cleanup() { docker rm -f "$container" >/dev/null 2>&1; docker volume rm "$volume" >/dev/null 2>&1; }

docker info >/dev/null 2>&1 || { echo "docker: failed: no Docker engine answers (start dockerd)"; exit 1; }

if $make_base && ! docker image inspect "$base" >/dev/null 2>&1; then
  step "building $base from Debian's packages (debootstrap)"
  root=$(mktemp -d)
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$root" http://deb.debian.org/debian >/dev/null || { echo "docker: failed: debootstrap"; exit 1; }
  chroot "$root" python3 -m venv /opt/python || { echo "docker: failed: venv in the base"; exit 1; }
  # This machine's own certificate authorities (e.g. of a TLS proxy in front of PyPI), so
  # that pip inside the build trusts what pip outside it trusts.
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null
  chroot "$root" update-ca-certificates >/dev/null 2>&1
  chroot "$root" apt-get clean
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/opt/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV LANG=C.UTF-8' - "$base" >/dev/null || { echo "docker: failed: docker import"; exit 1; }
  rm -rf "$root"
fi

step "building $image on $base"
started=$(date +%s)
build_network=()
[ "$network" = host ] && build_network=(--network host)
docker build "${build_network[@]}" --build-arg "BASE_IMAGE=$base" -t "$image" . >/tmp/zol-docker-build.log 2>&1 \
  || { tail -20 /tmp/zol-docker-build.log; echo "docker: failed: build"; exit 1; }
size=$(docker image inspect "$image" --format '{{.Size}}')
echo "   built in $(( $(date +%s) - started )) s, $(( size / 1000000 )) MB"

run_container() {
  local networking=(-p "$port:8501")
  [ "$network" = host ] && networking=(--network host -e "PORT=$port")
  docker run -d --name "$container" "${networking[@]}" -v "$volume:/data" \
    --read-only --tmpfs /tmp -e ZOL_WORKERS=1 "$image" >/dev/null || fail "docker run"
}

wait_healthy() {
  for _ in $(seq 1 180); do
    if python3 -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('$url/_stcore/health', timeout=2).read() != b'ok')" 2>/dev/null; then
      return 0
    fi
    sleep 1
  done
  fail "no answer from $url/_stcore/health"
}

cleanup
step "running it (read-only, a tmpfs for /tmp, data in volume $volume)"
run_container
wait_healthy
user=$(docker exec "$container" id -un)
echo "   healthy on port $port, running as $user"
[ "$user" = lab ] || fail "the server runs as $user, not lab"

step "training one run through the page"
link=$(python3 scripts/drive_lab.py train "$url" | tail -n 1) || fail "training through the page"
echo "   lab link: ${link%%lab=*}lab=…"

step "restarting the container and finding the run again"
docker restart "$container" >/dev/null || fail "docker restart"
wait_healthy
python3 scripts/drive_lab.py find "$link" || fail "the run was not there after the restart"

step "stopping the container while a run trains"
python3 scripts/drive_lab.py start-long "$link" || fail "starting a long run"
stop_started=$(date +%s.%N)
docker stop "$container" >/dev/null
stop_seconds=$(python3 -c "print(f'{$(date +%s.%N) - $stop_started:.1f}')")
code=$(docker inspect "$container" --format '{{.State.ExitCode}}')
echo "   docker stop took $stop_seconds s, exit code $code"
docker start "$container" >/dev/null || fail "docker start"
wait_healthy
python3 scripts/drive_lab.py interrupted "$link" || fail "the cut-off run was not there as interrupted"
cleanup
if [ "$code" != 0 ] || python3 -c "import sys; sys.exit(not $stop_seconds > 5)"; then
  echo "docker: failed: stopping while training took $stop_seconds s with exit code $code (want < 5 s, 0)"
  exit 1
fi
echo "docker: ok"
