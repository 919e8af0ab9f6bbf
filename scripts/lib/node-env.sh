# shellcheck shell=bash
# Sourced by scripts/start and scripts/test (gradlew-style): puts a Node >= 22.19 on PATH.
# Uses the system Node when it is new enough; otherwise installs the official Node 24 binary
# (with headers, so native addons such as node-pty build) from the npm registry into
# .cache/node inside the checkout. Then runs `npm ci` when package-lock.json changed.

KUBEDRILL_ROOT=${KUBEDRILL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KUBEDRILL_NODE_MAJOR=24
KUBEDRILL_NODE_MIN="22.19.0"

kd_log() { printf '[kubedrill] %s\n' "$*" >&2; }

kd_version_ok() { # $1 = version like v22.19.0 or 22.19.0
  local v=${1#v}
  [ "$(printf '%s\n%s\n' "$KUBEDRILL_NODE_MIN" "$v" | sort -V | head -n1)" = "$KUBEDRILL_NODE_MIN" ]
}

kd_node_platform() {
  local os arch
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) kd_log "unsupported OS $(uname -s)"; return 1 ;; esac
  case "$(uname -m)" in x86_64|amd64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) kd_log "unsupported CPU $(uname -m)"; return 1 ;; esac
  printf 'node-%s-%s' "$os" "$arch"
}

kd_install_node() { # installs into $1
  local dest=$1 pkg tmp
  pkg=$(kd_node_platform) || return 1
  command -v npm >/dev/null 2>&1 || { kd_log "need npm (any version) to download Node $KUBEDRILL_NODE_MAJOR from the npm registry; install nodejs/npm first"; return 1; }
  kd_log "system Node is missing or older than $KUBEDRILL_NODE_MIN; downloading $pkg@$KUBEDRILL_NODE_MAJOR (the binary the npm package node@$KUBEDRILL_NODE_MAJOR installs) into ${dest#"$KUBEDRILL_ROOT"/}"
  tmp=$(mktemp -d)
  # The platform package is what `npm install node@24` resolves to; packing it avoids install scripts.
  if ! (cd "$tmp" && npm pack --silent "$pkg@$KUBEDRILL_NODE_MAJOR" >/dev/null); then
    rm -rf "$tmp"; kd_log "could not download $pkg@$KUBEDRILL_NODE_MAJOR from the npm registry"; return 1
  fi
  rm -rf "$dest.partial" && mkdir -p "$dest.partial"
  tar -xzf "$tmp"/*.tgz -C "$dest.partial" --strip-components=1 && rm -rf "$tmp" || { rm -rf "$tmp"; return 1; }
  "$dest.partial/bin/node" --version >/dev/null || { kd_log "downloaded Node does not run on this machine"; return 1; }
  rm -rf "$dest" && mv "$dest.partial" "$dest"
}

kd_use_node() {
  local sys cache="$KUBEDRILL_ROOT/.cache/node"
  sys=$(command -v node 2>/dev/null || true)
  if [ -z "${KUBEDRILL_FORCE_BUNDLED_NODE:-}" ] && [ -n "$sys" ] && kd_version_ok "$(node --version)"; then
    # Native addons must build against the headers of the Node that runs them.
    export npm_config_nodedir="${npm_config_nodedir:-$(dirname "$(dirname "$(readlink -f "$sys")")")}"
    return 0
  fi
  if [ ! -x "$cache/bin/node" ] || ! kd_version_ok "$("$cache/bin/node" --version)"; then
    kd_install_node "$cache" || return 1
  fi
  export PATH="$cache/bin:$PATH"
  # Ignore any nodedir from ~/.npmrc: it would point node-gyp at another Node's headers.
  export npm_config_nodedir="$cache"
}

kd_npm_ci() { # run `npm ci` when the lockfile changed since the last install
  local stamp="$KUBEDRILL_ROOT/node_modules/.kubedrill-lock-hash" want have=""
  want=$( { sha256sum < "$KUBEDRILL_ROOT/package-lock.json"; node --version; } | sha256sum | cut -c1-64)
  [ -f "$stamp" ] && have=$(cat "$stamp")
  if [ "$want" != "$have" ]; then
    kd_log "installing dependencies (npm ci)…"
    (cd "$KUBEDRILL_ROOT" && npm ci --no-audit --no-fund) || return 1
    printf '%s\n' "$want" > "$stamp"
  fi
}

kd_build_web() { # build the web app when its sources changed since the last build
  [ -n "${KUBEDRILL_SKIP_WEB_BUILD:-}" ] && return 0
  local stamp="$KUBEDRILL_ROOT/web/dist/.kubedrill-build-hash" want have=""
  want=$(cd "$KUBEDRILL_ROOT" && { find web -path web/dist -prune -o -type f -print | LC_ALL=C sort | xargs sha256sum; sha256sum package-lock.json; } | sha256sum | cut -c1-64)
  [ -f "$stamp" ] && have=$(cat "$stamp")
  if [ "$want" != "$have" ]; then
    kd_log "building the web app…"
    (cd "$KUBEDRILL_ROOT" && npm run --silent build:web) || return 1
    printf '%s\n' "$want" > "$stamp"
  fi
}
