#!/usr/bin/env bash
# A real image of the Dockerfile's runtime stage, built and run with podman, and Okta's SPEC
# suite replayed against it. No registry can be pulled from here, so:
# - the base is Debian bookworm made from Debian's packages (debootstrap --variant=minbase,
#   imported as docker.io/library/debian:bookworm-slim so the stage's FROM finds it locally;
#   the official slim image is the same release with fewer files);
# - the build stage is not run by podman (rust:1-bookworm cannot be pulled either): the stage's
#   binary is the one tests/container/check_image.py built by playing that stage, and the
#   runtime stage is the Dockerfile's own text with its COPY --from=build reading that binary
#   from the build context instead. Everything else in the stage (its RUN apt-get, useradd,
#   USER, WORKDIR, VOLUME, ENV, HEALTHCHECK, ENTRYPOINT, CMD) is built as written.
# - podman runs with runc and ulimits below this sandbox's own: crun cannot start here (cgroups
#   in hybrid mode), and neither runtime may set the default rlimits in this sandbox.
#
# Usage: tests/container/run_image.sh BINARY EMULATOR_BINARY   (as root; port 8080 free)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
binary=$(realpath "${1:?usage: run_image.sh BINARY EMULATOR_BINARY}")
emulator_bin=$(realpath "${2:?usage: run_image.sh BINARY EMULATOR_BINARY}")
cache=${IMAGE_CHECK_CACHE:-${TMPDIR:-/tmp}/tableau-scim-image-check}
work=$(mktemp -d "${TMPDIR:-/tmp}/tableau-scim-image-run.XXXXXX")
limits=(--ulimit nofile=16384:16384 --ulimit nproc=4096:4096)
podman=(podman --runtime runc)
name=tableau-scim-image-check-$$
cleanup() {
  "${podman[@]}" rm -f "$name" >/dev/null 2>&1 || true
  [ -n "${emulator_pid:-}" ] && kill "$emulator_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

rootfs="$cache/rootfs-bookworm"
if ! podman image exists docker.io/library/debian:bookworm-slim; then
  if [ ! -x "$rootfs/usr/bin/apt-get" ]; then
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
      || { tail -20 "$work/debootstrap.log"; exit 2; }
  fi
  tar -C "$rootfs" -c . | podman import --quiet - docker.io/library/debian:bookworm-slim >/dev/null
fi

# The runtime stage: from the Dockerfile's last FROM to its end, the binary from the context.
mkdir -p "$work/context"
cp "$binary" "$work/context/tableau-scim"
awk '/^FROM /{stage=$0; text=""} {text=text $0 "\n"} END{printf "%s", text}' "$repo/Dockerfile" \
  | sed 's|^COPY --from=build /src/target/release/tableau-scim |COPY tableau-scim |' > "$work/context/Containerfile"
grep -q '^COPY tableau-scim /usr/local/bin/tableau-scim' "$work/context/Containerfile" \
  || { echo "the runtime stage no longer copies the binary as this script expects"; exit 2; }
echo "== podman build of the Dockerfile's runtime stage"
"${podman[@]}" build --quiet --format docker --network host "${limits[@]}" -t localhost/tableau-scim:check \
  -f "$work/context/Containerfile" "$work/context"
"${podman[@]}" image inspect localhost/tableau-scim:check \
  --format 'user {{.Config.User}}, workdir {{.Config.WorkingDir}}, cmd {{.Config.Cmd}}, healthcheck {{.Config.Healthcheck.Test}}'

# Tableau (the emulator, Server flavour) on the host; the configuration in the image's path.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$emulator_bin" emulator --listen "127.0.0.1:$port" --site hq --pat-name scim --pat-secret pat-image-run \
  >"$work/emulator.log" 2>&1 &
emulator_pid=$!
token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
mkdir -p "$work/etc" "$work/data"
cat >"$work/etc/config.toml" <<TOML
[server]
public_url = "http://127.0.0.1:8080"
[[tenants]]
id = "hq"
tableau_url = "http://127.0.0.1:$port"
site = "hq"
deployment = "server"
pat_name = "scim"
pat_secret = "pat-image-run"
token_hashes = ["$(printf %s "$token" | sha256sum | cut -d' ' -f1)"]
TOML
chmod 644 "$work/etc/config.toml"
chown 10001:10001 "$work/data"
chmod 700 "$work/data"
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/api/3.24/serverinfo" >/dev/null 2>&1 && break; sleep 0.2; done

echo "== podman run: the image's CMD, its volumes from here"
"${podman[@]}" run -d --name "$name" --network host "${limits[@]}" \
  -v "$work/etc:/etc/tableau-scim:ro" -v "$work/data:/data" localhost/tableau-scim:check >/dev/null
healthy=
for _ in $(seq 60); do
  if "${podman[@]}" healthcheck run "$name" >/dev/null 2>&1; then healthy=yes; break; fi
  sleep 0.5
done
[ -n "$healthy" ] || { "${podman[@]}" logs "$name" | tail -20; echo "the image's HEALTHCHECK never passed"; exit 1; }
echo "the image's HEALTHCHECK passed (podman healthcheck run)"
"${podman[@]}" exec "$name" id

suites=${EXTERNAL_SUITES:-$repo/../shared/external-suites}
echo "== Okta's SCIM 2.0 SPEC suite against the container"
node "$repo/tests/external/okta_runscope.js" --suite spec --suites "$suites" \
  --base-url "http://127.0.0.1:8080/scim/v2" --token "$token" --flavour server \
  --json-out "$work/okta-spec.json"
stat -c 'the store in the data volume: %n owned by uid %u' "$work/data"/* | head -3
