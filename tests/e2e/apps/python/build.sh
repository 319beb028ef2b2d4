#!/usr/bin/env bash
# Bundle the Python E2E app (app.py + the pins in requirements.txt) into a
# self-contained directory cached outside the clone.
#
# Why a bundle: the test containers are Debian with /usr/bin/python3 (bookworm 3.11,
# trixie 3.13) but no pip, no venv and no network. So every dependency is installed here
# with `pip install --target` from wheels only, for the target's CPython on x86_64 glibc
# <= 2.36 (bookworm's; trixie's is newer), whatever python runs this script; the
# container just needs PYTHONPATH pointing at them. The target is E2E_PYTHON_TARGET
# (default 3.11). Debian 11's 3.9 cannot be a target: the pinned SDK needs Python >= 3.10,
# and pip says so (tests/e2e/test_runtimes.py checks the same from the wheels' metadata).
# Why a cache keyed by a hash of the sources, this script and the build python's
# version (it byte-compiles the bundle): a fresh CI clone on the same machine reuses
# the build, any change to an input never does.
#
# Output (in ${XDG_CACHE_HOME:-$HOME/.cache}/otlp-tls/e2e-python-<hash>/):
#   site-packages/  the pinned dependencies
#   app.py          the app
#   run             #!/bin/sh launcher: PYTHONPATH=site-packages, exec /usr/bin/python3
#   build-info.txt  what produced it
# The last line of stdout is the output directory; everything else goes to stderr.
# `build.sh --cached` only prints it when it is already built (exit 3 otherwise).
#
# Environment: PYTHON (interpreter that runs pip; default python3), E2E_PYTHON_TARGET
# (the containers' python3 as major.minor; default 3.11), XDG_CACHE_HOME.
# pip's index and options are the user's own configuration.
# shellcheck disable=SC2154 # cache, out, work, stage, start: set by build_cache_open (tests/lib/build_cache.sh)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-python3}
target=${E2E_PYTHON_TARGET:-3.11}
[[ $target =~ ^3\.[0-9]+$ ]] || { echo "build.sh: E2E_PYTHON_TARGET '$target' is not like 3.11" >&2; exit 2; }
abi=cp${target/./}
py_version=$("$PYTHON" -c 'import sys; print(sys.version.split()[0], sys.implementation.cache_tag)')
hash=$( { cat "$here/app.py" "$here/requirements.txt" "${BASH_SOURCE[0]}"; echo "$py_version $target"; } \
  | sha256sum | cut -c1-16)
# shellcheck source=../../../lib/build_cache.sh
source "$here/../../../lib/build_cache.sh"
build_cache_open e2e-python "$hash" "${1:-}" "" run

# Target = the containers' python: CPython $target, glibc 2.36 at most. pip does not expand a
# manylinux_2_X platform to the older ones it implies, so list them all
# (manylinux2014 covers the legacy manylinux2010/1 aliases).
platforms=(--platform manylinux2014_x86_64)
for minor in $(seq 36 -1 5); do
  platforms+=(--platform "manylinux_2_${minor}_x86_64")
done

echo "build.sh: bundling the Python E2E app with $PYTHON ($py_version)" >&2
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-input --root-user-action=ignore \
  --target "$stage/site-packages" --only-binary=:all: \
  --implementation cp --python-version "$target" --abi "$abi" "${platforms[@]}" \
  -r "$here/requirements.txt" >&2

# A dependency missing from requirements.txt would be installed unpinned: refuse.
# Names are compared in PEP 503 normal form (dist-info dirs use underscores).
norm() { tr 'A-Z_.' 'a-z--' | sed 's/--*/-/g'; }
pinned=$(sed -n 's/^\([A-Za-z0-9_.-]*\)==.*/\1/p' "$here/requirements.txt" | norm | sort)
installed=$(find "$stage/site-packages" -maxdepth 1 -name '*.dist-info' -printf '%f\n' \
  | sed 's/-[^-]*\.dist-info$//' | norm | sort)
if [[ $pinned != "$installed" ]]; then
  echo "build.sh: requirements.txt does not pin exactly what got installed:" >&2
  diff <(echo "$pinned") <(echo "$installed") >&2 || true
  exit 1
fi
# Console scripts are useless here (their shebang names this machine's python).
rm -rf "$stage/site-packages/bin"

install -m 0644 "$here/app.py" "$stage/app.py"
cat >"$stage/run" <<'RUN'
#!/bin/sh
# Launcher: the unit's ExecStart points here whatever the language of the app.
# PYTHONPATH is set, not extended, so the bundle comes first on sys.path: the
# target has no pip, everything the app imports beyond the stdlib is in it.
here=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH="$here/site-packages"
PYTHONNOUSERSITE=1
export PYTHONPATH PYTHONNOUSERSITE
exec /usr/bin/python3 "$here/app.py" "$@"
RUN
chmod 0755 "$stage/run"

{
  echo "python: $py_version ($PYTHON)"
  echo "pip: $("$PYTHON" -m pip --version | cut -d' ' -f1-2)"
  echo "target: $abi manylinux x86_64 (glibc <= 2.36)"
  echo "sources_sha256: $hash"
  echo "build_seconds: $((SECONDS - start))"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$stage/build-info.txt"

build_cache_close
