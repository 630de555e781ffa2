#!/usr/bin/env bash
# Installs the Debian packages the local real services need, only those missing:
#   redis-server (Redis), postgresql (the server, used when running as root),
#   a Java 17+ runtime and Maven (the Kafka broker's jars come from Maven Central), and
#   chromium (when run as root), which the dashboard's browser test drives (tests/browser).
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "$(id -u)" = 0 ] && ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  missing+=(postgresql)
fi
java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1 || true)
if [ -z "${java_major}" ] || [ "${java_major}" -lt 17 ]; then missing+=(openjdk-17-jre-headless); fi
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if [ "$(id -u)" = 0 ] && [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi

if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "skuflow needs these Debian packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's postgresql package starts a system cluster on 5432; skuflow runs its own, so stop that.
if printf '%s\n' "${missing[@]}" | grep -qx postgresql; then
  (command -v pg_ctlcluster >/dev/null && service postgresql stop) >/dev/null 2>&1 || true
fi
