# Docker helpers for the `sam local` scripts (scripts/sam-local.sh, scripts/start-api-check.sh).
# Sourced after scripts/lib.sh, not run.
#
#   ensure_docker                 install docker.io (Debian) if missing, start dockerd if it is not
#                                 answering, wait for it; clear errors when neither works
#   stop_docker_if_started        stop the dockerd that ensure_docker started (nothing else)
#   sam_local_arch                the architecture `sam local` runs the functions on:
#                                 SAM_LOCAL_ARCH (x86_64 or arm64), else the host's
#   ensure_lambda_base_image      the image the function runs on: AWS's
#                                 public.ecr.aws/lambda/provided:al2023-<arch> when present or
#                                 pulled, else a stand-in built from Debian packages under a name
#                                 of its own (idempotent: a label records the recipe and package
#                                 versions; fast when present). Sets LAMBDA_IMAGE and
#                                 SAM_RAPID_IMAGE. An arm64 <arch> on an x86_64 host runs under
#                                 qemu (ensure_arm64_emulation)
#   sam_image_options             the `sam local invoke/start-api` options that run that image
#   docker_bridge_gateway         the host's address on the default bridge (what a container
#                                 uses to reach a service on the host)
#   check_reachable_from_container HOST PORT WHAT
#                                 a clear error when a container cannot open HOST:PORT
#   start_dynamodb_for_containers ENV_FILE
#                                 DynamoDB Local + example fixture, reachable from containers,
#                                 and the --env-vars file pointing the function at it (the
#                                 table variables: the `table-env` program of dev/)
#                                 (TABLE_PREFIX: the tables' name prefix; default: one per run,
#                                 empty: the default names, as scripts/run-local.sh uses)
#   sam_local ARGS...             `sam local ARGS...` without SAM's STS round trip
#
# KEEP_DOCKERD=1 leaves a dockerd that ensure_docker started running after the script.
# LAMBDA_PULL_TIMEOUT (seconds, default 60; 0: no pull) bounds the pull of AWS's image.
#
# Which image: `sam local invoke/start-api` run the function in a container built FROM
# public.ecr.aws/lambda/provided:al2023-<arch> plus SAM's own Runtime Interface Emulator
# (shipped inside the aws-sam-cli package). AWS's image is used when Docker has it or can pull
# it. Where that registry cannot be reached (this project's CI reaches only package registries;
# the failed pull takes 0.1 s there), a stand-in is built under a name of its own,
# tracking-status/lambda-stand-in:al2023-<arch>, and SAM is pointed at it with --invoke-image.
# Nothing of ours is tagged public.ecr.aws/..., so a machine's real image, and every other SAM
# project using it, is left alone. The stand-in holds Debian's glibc (libc6), libgcc_s
# (libgcc-s1) and busybox (busybox-static: SAM's image build runs `mv` and `chmod` in it; the
# reachability probe uses its wget). It is NOT Amazon Linux 2023: scripts/glibc-check.sh covers
# the one difference that matters to a native binary, the glibc version (AL2023 has 2.34).
#
# arm64 on an x86_64 host (SAM_LOCAL_ARCH=arm64, what scripts/test.sh uses, so that `sam local`
# runs the artifact that deploys): the kernel runs the arm64 binaries (the function, SAM's
# emulator) through Debian's qemu-user-static, registered with binfmt_misc with the F flag (the
# interpreter is opened at registration, so it works inside containers). The stand-in's arm64
# glibc and libgcc_s are those of libc6-arm64-cross and libgcc-s1-arm64-cross (what
# ensure_arm64_tools installs, the same files qemu-aarch64 -L runs the release binary with); its
# busybox stays the host's (SAM's image build and the reachability probe run it natively).

DOCKERD_LOG="$LOCAL/dockerd.log"
# Bump when the recipe below changes: the image is rebuilt when its label differs.
LAMBDA_BASE_RECIPE="tracking-status-stand-in-2"
LAMBDA_STAND_IN_REPOSITORY="tracking-status/lambda-stand-in"


docker_answers() { docker info >/dev/null 2>&1; }

# ensure_docker: Docker installed and its daemon answering. Sets DOCKERD_STARTED_PID when it
# starts dockerd itself (stop_docker_if_started stops only that one).
ensure_docker() {
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
      fail "Docker is not installed (no dockerd/docker on PATH), and it cannot be installed" \
        "here: installing needs root and apt-get (Debian/Ubuntu). Install Docker Engine (Debian:" \
        "apt-get install docker.io), start dockerd, and run this again."
      return 1
    fi
    log "installing Docker (Debian package docker.io)"
    local started=$SECONDS
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io; } \
      >"$LOCAL/docker-install.log" 2>&1; then
      fail "installing docker.io with apt-get failed; the end of its output ($LOCAL/docker-install.log):"
      tail -n 15 "$LOCAL/docker-install.log" >&2
      echo "Install Docker Engine by hand (Debian: apt-get install docker.io), then run this again." >&2
      return 1
    fi
    command -v dockerd >/dev/null 2>&1 || { fail "docker.io installed but dockerd is not on PATH ($PATH)"; return 1; }
    log "Docker installed in $((SECONDS - started)) s"
  fi
  docker_answers && return 0

  if pgrep -x dockerd >/dev/null 2>&1; then
    # A daemon runs but does not answer us: starting a second one would fail on its pid file.
    for _ in $(seq 1 50); do docker_answers && return 0; sleep 0.2; done
    fail "a dockerd process is running (pid $(pgrep -x dockerd | tr '\n' ' ')) but does not answer:" \
      "$(docker info 2>&1 | tail -n 3)" \
      "Check DOCKER_HOST and the permissions on /var/run/docker.sock (root or the docker group)."
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    fail "the Docker daemon is not running, and starting dockerd needs root." \
      "Start it (sudo dockerd &, or: sudo systemctl start docker) and run this again."
    return 1
  fi
  log "starting dockerd in the background (log: $DOCKERD_LOG)"
  local t0=$SECONDS
  # --userland-proxy=false: a published port is forwarded by the kernel, so a connection to it is
  # refused until the container listens. With the proxy, it is accepted at once, and SAM, which
  # takes an accepted connection as its emulator being up, posts too early to an emulator that
  # starts slowly (under qemu: "No response from invoke container", seen here).
  setsid dockerd --userland-proxy=false >"$DOCKERD_LOG" 2>&1 </dev/null &
  DOCKERD_STARTED_PID=$!
  echo "$DOCKERD_STARTED_PID" >"$LOCAL/dockerd.pid"
  for _ in $(seq 1 300); do
    if docker_answers; then
      log "dockerd is up (pid $DOCKERD_STARTED_PID, $((SECONDS - t0)) s)"
      return 0
    fi
    if ! kill -0 "$DOCKERD_STARTED_PID" 2>/dev/null; then
      DOCKERD_STARTED_PID=""
      fail "dockerd exited during startup; the end of its log ($DOCKERD_LOG):"
      tail -n 15 "$DOCKERD_LOG" >&2
      echo "Common causes: not root, no cgroup filesystem, a kernel without overlayfs or" \
        "netfilter (try: dockerd --iptables=false --storage-driver=vfs). Fix and run this again." >&2
      return 1
    fi
    sleep 0.1
  done
  fail "dockerd (pid $DOCKERD_STARTED_PID) did not answer within 30 s; the end of its log ($DOCKERD_LOG):"
  tail -n 15 "$DOCKERD_LOG" >&2
  return 1
}

stop_docker_if_started() {
  [ -n "${DOCKERD_STARTED_PID:-}" ] || return 0
  [ "${KEEP_DOCKERD:-0}" = 1 ] && return 0
  kill "$DOCKERD_STARTED_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$DOCKERD_STARTED_PID" 2>/dev/null || break; sleep 0.1; done
  rm -f "$LOCAL/dockerd.pid"
  DOCKERD_STARTED_PID=""
}

lambda_arch() {
  case "$(uname -m)" in
    x86_64 | amd64) echo x86_64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) fail "no Lambda architecture for $(uname -m)"; return 1 ;;
  esac
}

sam_local_arch() {
  case "${SAM_LOCAL_ARCH:-}" in
    "") lambda_arch ;;
    x86_64 | arm64) echo "$SAM_LOCAL_ARCH" ;;
    *) fail "SAM_LOCAL_ARCH=$SAM_LOCAL_ARCH: x86_64 or arm64"; return 1 ;;
  esac
}

docker_platform() {
  case "$1" in x86_64) echo linux/amd64 ;; arm64) echo linux/arm64 ;; esac
}

# ensure_arm64_emulation: arm64 binaries run on this x86_64 host, in containers too: Debian's
# qemu-user-static (installed as root when missing) registered with binfmt_misc with the F flag,
# from the registration line the package ships (/usr/lib/binfmt.d/qemu-aarch64.conf).
ensure_arm64_emulation() {
  local binfmt=/proc/sys/fs/binfmt_misc conf=/usr/lib/binfmt.d/qemu-aarch64.conf
  if ! [ -f "$conf" ]; then
    apt_install "running arm64 functions under sam local (or run with SAM_LOCAL_ARCH=x86_64)" \
      qemu-user-static || return 1
  fi
  if ! [ -e "$binfmt/register" ]; then
    mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null ||
      { fail "binfmt_misc is not mounted at $binfmt and mounting it failed (needs root)"; return 1; }
  fi
  if [ -e "$binfmt/qemu-aarch64" ] && ! grep -q '^flags:.*F' "$binfmt/qemu-aarch64"; then
    # Registered without F (binfmt-support's default): containers could not find the interpreter.
    echo -1 >"$binfmt/qemu-aarch64" || { fail "could not remove the qemu-aarch64 binfmt entry"; return 1; }
  fi
  if ! [ -e "$binfmt/qemu-aarch64" ]; then
    cat "$conf" >"$binfmt/register" ||
      { fail "registering qemu-aarch64 with binfmt_misc failed (needs root)"; return 1; }
    log "registered $(sed -n 's/^interpreter //p' "$binfmt/qemu-aarch64") for arm64 binaries (binfmt_misc)"
  fi
}

# stand_in_label IMAGE: the recipe label our stand-in carries (empty: not ours, or absent). An
# image SAM builds FROM the stand-in inherits it.
stand_in_label() {
  docker image inspect "$1" --format '{{index .Config.Labels "tracking-status.stand-in"}}' 2>/dev/null || true
}

# aws_lambda_image IMAGE: succeeds when Docker has AWS's IMAGE, pulling it if needed (within
# LAMBDA_PULL_TIMEOUT seconds). An image of that name carrying our label is a stand-in that an
# earlier version of this script built under AWS's name: it does not count.
aws_lambda_image() {
  local image="$1" timeout="${LAMBDA_PULL_TIMEOUT:-60}" t0=$SECONDS
  if docker image inspect "$image" >/dev/null 2>&1; then
    [ -z "$(stand_in_label "$image")" ] && return 0
    log "$image here is a stand-in that an earlier version of this script built under AWS's" \
      "name: not used (docker image rm $image removes it)"
  fi
  [ "$timeout" != 0 ] || return 1
  if timeout "$timeout" docker pull -q "$image" >"$LOCAL/docker-pull.log" 2>&1; then
    log "pulled $image in $((SECONDS - t0)) s"
    return 0
  fi
  log "no $image: pulling it failed after $((SECONDS - t0)) s (LAMBDA_PULL_TIMEOUT=$timeout):" \
    "$(tail -n 1 "$LOCAL/docker-pull.log" | cut -c 1-160)"
  return 1
}

# ensure_lambda_base_image: chooses the image the function runs on and makes sure Docker has it.
# Sets LAMBDA_IMAGE (the base: AWS's or the stand-in), LAMBDA_IMAGE_IS_STAND_IN (1 or 0) and
# SAM_RAPID_IMAGE (what SAM builds FROM the base and runs: the base plus its emulator, named
# after the base's repository as SAM 1.170 names it).
ensure_lambda_base_image() {
  local arch aws
  arch="$(sam_local_arch)" || return 1
  if [ "$arch" != "$(lambda_arch)" ]; then
    [ "$arch" = arm64 ] || { fail "sam local runs $arch functions only on an $arch or x86_64 host"; return 1; }
    ensure_arm64_emulation || return 1
  fi
  aws="public.ecr.aws/lambda/provided:al2023-$arch"
  if aws_lambda_image "$aws"; then
    LAMBDA_IMAGE="$aws" LAMBDA_IMAGE_IS_STAND_IN=0
    SAM_RAPID_IMAGE="public.ecr.aws/lambda/provided:al2023-rapid-$arch"
    # SAM keeps its image and, under --skip-pull-image, does not rebuild it when the base
    # changes: one it built on an earlier version's stand-in (it carries our label) must go.
    if [ -n "$(stand_in_label "$SAM_RAPID_IMAGE")" ]; then
      docker image rm -f "$SAM_RAPID_IMAGE" >/dev/null 2>&1 || true
    fi
    log "the function runs on AWS's $aws"
    return 0
  fi
  LAMBDA_IMAGE="$LAMBDA_STAND_IN_REPOSITORY:al2023-$arch" LAMBDA_IMAGE_IS_STAND_IN=1
  SAM_RAPID_IMAGE="$LAMBDA_STAND_IN_REPOSITORY:rapid-$arch"
  ensure_stand_in_image "$LAMBDA_IMAGE" "$arch" || return 1
  log "the function runs on the stand-in $LAMBDA_IMAGE (Debian's glibc, not Amazon Linux 2023)"
}

# sam_image_options: the options of `sam local invoke` and `sam local start-api` that run every
# function (the local authorizer too) on the image ensure_lambda_base_image chose, never pulled
# by SAM. No word holds a space: $(sam_image_options) is used unquoted.
sam_image_options() {
  echo --skip-pull-image
  if [ "$LAMBDA_IMAGE_IS_STAND_IN" = 1 ]; then echo --invoke-image "$LAMBDA_IMAGE"; fi
}

# The host's glibc and libgcc_s versions (dpkg-query: fast). The image carries these exact
# versions, the ones a binary built on this host was linked against; a change rebuilds it.
lambda_base_packages() {
  local pkg version
  for pkg in libc6 libgcc-s1; do
    version="$(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null || true)"
    echo "$pkg=${version:-unknown}"
  done
}

# stand_in_packages ARCH: the packages (name=version) the stand-in for ARCH is made of, as its
# label records them: the host's libc6 and libgcc-s1 for the host's architecture, the cross
# packages' arm64 glibc and libgcc_s for arm64 on an x86_64 host.
stand_in_packages() {
  if [ "$1" = "$(lambda_arch)" ]; then
    lambda_base_packages
  else
    dpkg-query -W -f '${Package}=${Version}\n' libc6-arm64-cross libgcc-s1-arm64-cross 2>/dev/null ||
      echo "arm64-cross=unknown"
  fi
}

# ensure_stand_in_image IMAGE ARCH: builds the stand-in for ARCH as IMAGE unless it is there,
# built by this recipe.
ensure_stand_in_image() {
  local image="$1" arch="$2" recipe current
  command -v apt-get >/dev/null 2>&1 || { fail "building $image needs apt-get (Debian packages)"; return 1; }
  recipe="$LAMBDA_BASE_RECIPE $arch on $(dpkg --print-architecture) $(stand_in_packages "$arch" | tr '\n' ' ')"
  current="$(stand_in_label "$image")"
  if [ "$current" = "$recipe" ]; then
    return 0
  fi
  log "building the stand-in $image from Debian packages"
  local t0=$SECONDS work debs native=1
  [ "$arch" = "$(lambda_arch)" ] || native=0
  work="$(mktemp -d)"
  debs="$work/debs"
  mkdir -p "$debs" "$work/rootfs"
  # The host's exact versions when the mirror still has them, else the current ones.
  local wanted="busybox-static" fallback="busybox-static"
  if [ "$native" = 1 ]; then
    wanted="$(lambda_base_packages | grep -v '=unknown$' | tr '\n' ' ') busybox-static"
    fallback="libc6 libgcc-s1 busybox-static"
  fi
  if ! (cd "$debs" && apt-get download -qq $wanted) >"$work/download.log" 2>&1; then
    # Fresh machines may not have package lists yet; an old version may be gone from the mirror.
    apt-get update -qq >/dev/null 2>&1 || true
    rm -f "$debs"/*.deb
    if ! (cd "$debs" && apt-get download -qq $fallback) >"$work/download.log" 2>&1; then
      fail "apt-get download $fallback failed:"
      cat "$work/download.log" >&2
      rm -rf "$work"
      return 1
    fi
  fi
  local deb used=""
  for deb in "$debs"/*.deb; do
    dpkg-deb -x "$deb" "$work/rootfs"
    used="$used $(basename "$deb" .deb)"
  done
  if [ "$native" = 0 ]; then
    # arm64's loader, glibc and libgcc_s, where an arm64 binary looks for them (/lib).
    mkdir -p "$work/rootfs/lib"
    cp -a "$AARCH64_SYSROOT"/lib/*.so* "$work/rootfs/lib/" ||
      { fail "no arm64 glibc in $AARCH64_SYSROOT (ensure_arm64_tools installs it)"; rm -rf "$work"; return 1; }
    used="$used $(stand_in_packages "$arch" | tr '\n' ' ')"
  fi
  (
    set -e
    cd "$work/rootfs"
    # Debian packages these under /lib and /bin; on a merged-/usr system /usr/lib is the same.
    mkdir -p bin usr/bin tmp var/task var/runtime opt etc lib64
    chmod 1777 tmp
    [ -e bin/busybox ] || ln -s ../usr/bin/busybox bin/busybox 2>/dev/null || true
    for applet in $(./bin/busybox --list); do
      [ -e "bin/$applet" ] || ln -s busybox "bin/$applet"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' >etc/passwd
    echo 'root:x:0:' >etc/group
    rm -rf usr/share/doc usr/share/man usr/share/lintian usr/share/locale
  ) || { fail "assembling the stand-in root filesystem failed"; rm -rf "$work"; return 1; }
  # The dynamic loader a binary of ARCH asks for (checked, not assumed).
  local loader=/lib64/ld-linux-x86-64.so.2
  [ "$arch" = arm64 ] && loader=/lib/ld-linux-aarch64.so.1
  if [ ! -e "$work/rootfs$loader" ] && [ ! -L "$work/rootfs$loader" ]; then
    fail "the stand-in for $arch has no $loader"; rm -rf "$work"; return 1
  fi
  # The classic builder (no BuildKit or buildx needed), FROM scratch: unlike docker import, it
  # records the image's architecture (--platform), which SAM's own build of its image asks for.
  tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
  cat >"$work/Dockerfile" <<DOCKERFILE
FROM scratch
ADD rootfs.tar /
LABEL tracking-status.stand-in="$recipe"
ENV PATH=/usr/local/bin:/usr/bin:/bin:/opt/bin LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime
WORKDIR /var/task
ENTRYPOINT ["/var/rapid/aws-lambda-rie"]
DOCKERFILE
  if ! DOCKER_BUILDKIT=0 docker build -q --platform "$(docker_platform "$arch")" -t "$image" \
    -f "$work/Dockerfile" "$work" >"$work/build.log" 2>&1; then
    fail "docker build of the stand-in image failed:"
    cat "$work/build.log" >&2
    rm -rf "$work"
    return 1
  fi
  rm -rf "$work"
  # SAM keeps its own image (base + emulator) as SAM_RAPID_IMAGE and does not rebuild it when
  # the base changes under --skip-pull-image: drop it so the next run rebuilds on this base.
  docker image rm -f "$SAM_RAPID_IMAGE" >/dev/null 2>&1 || true
  log "built $image in $((SECONDS - t0)) s from:$used"
}

# The host's address on the default bridge network: where a container reaches a service
# listening on the host's 0.0.0.0 (SAM 1.170 ignores --docker-network host).
docker_bridge_gateway() {
  local gw ifname
  gw="$(docker network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null || true)"
  if [ -z "$gw" ]; then
    # Docker 20.10 leaves Gateway out of IPAM when it picked the default: read the interface.
    ifname="$(docker network inspect bridge --format '{{index .Options "com.docker.network.bridge.name"}}' 2>/dev/null || true)"
    gw="$(python3 "$ROOT/scripts/interface-address.py" "${ifname:-docker0}" || true)"
  fi
  [ -n "$gw" ] || { fail "could not find the address of Docker's bridge network (docker network inspect bridge)"; return 1; }
  echo "$gw"
}

# check_reachable_from_container HOST PORT WHAT: opens http://HOST:PORT/ from a container of
# LAMBDA_IMAGE on the default bridge, as the function's container will. Any HTTP answer counts
# (DynamoDB Local says 400 to a bare GET); a refused or timed-out connection is an error that
# says what to fix.
check_reachable_from_container() {
  local host="$1" port="$2" what="$3" out
  # The stand-in has busybox's wget, AWS's AL2023 image curl (curl-minimal): both print the
  # status line. busybox's own timeout, not wget -T (Debian's busybox-static 1.35 wget crashes
  # on -T), under a shell that stays PID 1: a container's PID 1 cannot be killed from inside,
  # so wget must not be it.
  out="$(docker run --rm --network bridge --platform "$(docker_platform "$(sam_local_arch)")" \
    --entrypoint /bin/sh "$LAMBDA_IMAGE" -c '
    if command -v wget >/dev/null; then timeout -s KILL 10 wget -S -O /dev/null "$0"
    else curl -sS --max-time 10 -o /dev/null -D - "$0"; fi; exit 0' "http://$host:$port/" 2>&1 || true)"
  if printf '%s' "$out" | grep -q 'HTTP/1\.[01] [0-9]'; then
    return 0
  fi
  printf '%s' "$out" | grep -q 'Killed' && out="$out: no answer within 10 s"
  fail "$what answers on the host but a container cannot reach it at http://$host:$port/" \
    "(busybox wget in a container said: $(printf '%s' "${out:-nothing, killed after 10 s}" | tr '\n' ' ' | sed 's/  */ /g'))." \
    "A Lambda container reaches the host through the Docker bridge gateway ($host), so $what" \
    "must listen on all interfaces (0.0.0.0), not only 127.0.0.1, and no firewall rule may drop" \
    "traffic from the docker0 bridge (check: iptables -S INPUT; nft list ruleset)."
  return 1
}

# start_dynamodb_for_containers ENV_VARS_FILE: DynamoDB Local on DYNAMODB_PORT (else a free
# port), reachable from containers, with fixtures/example.json and next-steps.json loaded by `seed` into the default
# table names behind TABLE_PREFIX (default: a prefix of this run's own); writes the
# `sam local --env-vars` file that points both functions at them.
# Sets DYNAMODB_LOCAL_PID (stop_dynamodb_local stops it), DYNAMODB_CONTAINER_ENDPOINT and
# DYNAMODB_HOST_ENDPOINT (the same server, from the host), and exports the table variables.
start_dynamodb_for_containers() {
  local env_file="$1" port gateway prefix
  ensure_dynamodb_local || return 1
  port="${DYNAMODB_PORT:-$(free_port)}"
  ensure_port_free "$port" "DynamoDB Local" DYNAMODB_PORT || return 1
  start_dynamodb_local "$port" || return 1
  gateway="$(docker_bridge_gateway)" || return 1
  check_reachable_from_container "$gateway" "$port" "DynamoDB Local (port $port)" || return 1
  DYNAMODB_CONTAINER_ENDPOINT="http://$gateway:$port"
  DYNAMODB_HOST_ENDPOINT="http://127.0.0.1:$port"
  log "DynamoDB Local is reachable from containers at $DYNAMODB_CONTAINER_ENDPOINT"

  prefix="${TABLE_PREFIX-sam-local-$$-}"
  # table-env's lines hold nothing a shell would split or expand: $tables is left unquoted.
  tables="$(cargo run --locked --quiet --bin table-env -- "$prefix")" || return 1
  export $tables
  log "loading fixtures/example.json and fixtures/next-steps.json with seed"
  AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port" cargo run --locked --quiet --bin seed -- fixtures/example.json || return 1
  AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port" cargo run --locked --quiet --bin seed -- fixtures/next-steps.json || return 1

  cargo run --locked --quiet --bin table-env -- --sam-env-vars "$prefix" "$DYNAMODB_CONTAINER_ENDPOINT" >"$env_file" || return 1
}

# sam_containers: the ids of containers made from SAM_RAPID_IMAGE, SAM's image on LAMBDA_IMAGE.
sam_containers() {
  docker ps -aq --no-trunc --filter "ancestor=$SAM_RAPID_IMAGE" 2>/dev/null | sort
}

# remove_new_sam_containers BEFORE: removes, by id, the SAM containers not in BEFORE (the output
# of sam_containers taken before this run started SAM): what an interrupted run leaves behind.
remove_new_sam_containers() {
  local before="$1" ids
  ids="$(comm -13 <(printf '%s\n' "$before" | sed '/^$/d') <(sam_containers))"
  [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
  return 0
}

# sam_local ARGS...: `sam local ARGS...` without its STS lookup of the account id. SAM calls
# sts:GetCallerIdentity at every start and falls back to a default account id when it fails;
# with the dummy credentials used here it always fails, after 5-7 s of retries when AWS is
# unreachable (measured). Pointing STS at a closed local port fails it at once. Only the SAM
# process sees these two variables: the function's container gets the variables its template
# declares, not SAM's environment.
sam_local_env() {
  echo "AWS_ENDPOINT_URL_STS=http://127.0.0.1:$(free_port)" AWS_MAX_ATTEMPTS=1
}
sam_local() {
  env $(sam_local_env) sam local "$@"
}
