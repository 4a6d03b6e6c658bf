#!/usr/bin/env bash
# The Debian packages the tests, the grader and the book need, installed in ONE serial step before
# any test starts (never by racing test workers: dpkg's lock admits one).
#   chromium            browser tests (Playwright drives /usr/bin/chromium)
#   bubblewrap          the grader's sandbox (bwrap)
#   postgresql          the PostgreSQL gradebook tests start a real server
#   libxrender1 libxext6 libx11-6   RDKit's drawing module (headless servers often lack them)
# As root with apt-get: installs what is missing. Otherwise: prints the exact command and, under
# CI=true, fails (a check that cannot run fails; it is never skipped).
set -euo pipefail
PACKAGES=(chromium bubblewrap postgresql libxrender1 libxext6 libx11-6)
missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "system packages: all present (${PACKAGES[*]})"
    exit 0
fi
cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "system packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
    exit 0
fi
echo "system packages missing: ${missing[*]}" >&2
echo "install them with:  sudo sh -c '$cmd'" >&2
if [ "${CI:-}" = "true" ]; then
    exit 1
fi
echo "(continuing: the tests that need them will be reported as not run)" >&2
