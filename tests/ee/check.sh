#!/usr/bin/env bash
# The execution environment definition (execution-environment.yml), checked without a
# container engine: `ansible-builder create` writes the build context from a copy of this
# checkout and the collection tarball built from it, then what each build stage would do
# is checked on that context where it can be done here:
#   - ansible-builder accepts the file (and rejects a broken copy of it: the check has teeth);
#   - the Containerfile starts FROM the EE_BASE_IMAGE build arg, installs the pinned
#     ansible-core and ansible-runner, and installs the collection from the tarball;
#   - pins match requirements/test.txt (the EE runs what the tests ran);
#   - the galaxy stage: that tarball installs from the context's requirements.yml, offline;
#   - the builder stage: ansible-builder's introspection over the installed collection gives
#     the Python and system requirements (cryptography from meta/execution-environment.yml);
#   - those Python requirements resolve to wheels for the image's CPython on x86_64 and
#     aarch64 (the image has no compiler), cached once resolved;
#   - the project playbook docs/awx.md shows passes --syntax-check against the installed
#     tarball alone.
# The image itself is not built: that needs the base image's registry.
#
#   bash tests/ee/check.sh            # EE_KEEP=1 keeps the temporary directory for a look
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
cd "$OTLP_TLS_ROOT"
start=$SECONDS

# python3 of the base image in execution-environment.yml, and its glibc (RHEL 10: 3.12, 2.39).
ee_python=3.12
ee_glibc_minor=39

fail() {
  echo "tests/ee/check.sh: FAIL: $*" >&2
  exit 1
}

# ansible-builder in its own venv, like the sanity venv: keyed by its pins and the
# interpreter (identified as in otlp_venv_key), a marker written last marks it complete.
# Made before env.sh puts the test venv's python3 first on PATH.
ee_venv="$OTLP_TLS_CACHE/venv-ee-$({
  cat tests/ee/requirements.txt
  python3 -c 'import sys; print(sys.version); print(sys.base_prefix)'
} | otlp_hash -)"
venv_state=cached
if [[ ! -f $ee_venv/.complete ]]; then
  otlp_log "ee: creating $ee_venv"
  rm -rf "$ee_venv"
  python3 -m venv "$ee_venv"
  "$ee_venv/bin/python" -m pip install --quiet -r tests/ee/requirements.txt
  touch "$ee_venv/.complete"
  venv_state=created
fi
builder="$ee_venv/bin/ansible-builder"

# The test venv's ansible-galaxy and ansible-playbook (scripts/setup.sh makes it).
source scripts/env.sh
command -v ansible-galaxy >/dev/null || fail "no ansible-galaxy on PATH: run bash scripts/setup.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/otlp-tls-ee.XXXXXX")
if [[ ${EE_KEEP:-} ]]; then
  otlp_log "ee: keeping $work"
else
  trap 'rm -rf "$work"' EXIT
fi

# This checkout as a user has it (tracked and new unignored files, no .tmp/.venv caches),
# so the EE file's relative paths resolve as they do for `ansible-builder build`.
src=$work/src
mkdir -p "$src"
git ls-files -z -co --exclude-standard |
  while IFS= read -r -d '' f; do if [[ -e $f || -L $f ]]; then printf '%s\0' "$f"; fi; done |
  tar --null -T - -cf - | tar -xf - -C "$src"

# From here on the copy is what counts, whatever changes in the work tree meanwhile.
cd "$src"
version=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' galaxy.yml)
tarball=otlp-tls-$version.tar.gz
ansible-galaxy collection build --force >"$work/galaxy-build.log" ||
  { cat "$work/galaxy-build.log" >&2; fail "ansible-galaxy collection build failed"; }
[[ -f $tarball ]] || fail "ansible-galaxy collection build did not write $tarball"
if ! grep -q "collections/$tarball\$" execution-environment.yml ||
  ! grep -q "src: $tarball\$" execution-environment.yml; then
  fail "execution-environment.yml must name $tarball (galaxy.yml is at version $version) in both galaxy and additional_build_files"
fi

# ansible-builder create. Its warnings (a build file that matches nothing) fail the check too.
ctx=$work/context
if ! "$builder" create -f execution-environment.yml --context "$ctx" \
  --output-filename Containerfile -v3 >"$work/create.log" 2>&1; then
  cat "$work/create.log" >&2
  fail "ansible-builder create rejected execution-environment.yml"
fi
if grep -Ei 'warning|no matches|does not exist' "$work/create.log" >&2; then
  fail "ansible-builder create warned (above)"
fi

# A broken copy must be refused, or the check above proves nothing.
{
  cat execution-environment.yml
  echo "not_a_builder_key: true"
} >"$work/broken-ee.yml"
if "$builder" create -f "$work/broken-ee.yml" --context "$work/broken" >"$work/broken.log" 2>&1; then
  fail "ansible-builder create accepted an unknown top-level key: is the schema checked at all?"
fi
grep -q 'not_a_builder_key' "$work/broken.log" || { cat "$work/broken.log" >&2; fail "unexpected error for the broken copy"; }

# The generated Containerfile.
cf=$ctx/Containerfile
[[ -f $cf ]] || fail "no Containerfile in the build context"
ee_value() { python3 -c 'import sys, yaml
value = yaml.safe_load(open("execution-environment.yml"))
for key in sys.argv[1:]:
    value = value[key]
print(value)' "$@"; }
base=$(ee_value images base_image name)
runner_pin=$(ee_value dependencies ansible_runner package_pip)
core_pin=$(grep -E '^ansible-core==' requirements/test.txt) || fail "requirements/test.txt pins no ansible-core"
crypto_pin=$(grep -E '^cryptography==' requirements/test.txt) || fail "requirements/test.txt pins no cryptography"
[[ $(ee_value dependencies ansible_core package_pip) == "$core_pin" ]] ||
  fail "execution-environment.yml must install $core_pin, as requirements/test.txt does"
expect() { grep -qxF -- "$1" "$cf" || fail "Containerfile lacks the line: $1"; }
expect "ARG EE_BASE_IMAGE=\"$base\""
expect "ARG ANSIBLE_INSTALL_REFS=\"$core_pin $runner_pin\""
# Literal Containerfile lines: the container build expands their variables.
while IFS= read -r line; do expect "$line"; done <<'LINES'
FROM $EE_BASE_IMAGE AS base
RUN $PYCMD -m pip install --no-cache-dir $ANSIBLE_INSTALL_REFS
COPY _build /build
RUN ANSIBLE_GALAXY_DISABLE_GPG_VERIFY=1 ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml --collections-path "/usr/share/ansible/collections"
COPY --from=galaxy /usr/share/ansible /usr/share/ansible
RUN /output/scripts/check_ansible $PYCMD
LINES
cmp -s "$tarball" "$ctx/_build/collections/$tarball" || fail "the build context lacks the tarball just built"
grep -qxF "$crypto_pin" "$ctx/_build/requirements.txt" ||
  fail "execution-environment.yml must pin $crypto_pin in dependencies.python, as requirements/test.txt does"
grep -q '^openssh-clients ' "$ctx/_build/bindep.txt" || fail "_build/bindep.txt lacks openssh-clients"

# Galaxy stage: what `ansible-galaxy collection install -r requirements.yml` does in /build.
collections=$work/collections
(cd "$ctx/_build" && ANSIBLE_COLLECTIONS_PATH=$collections ANSIBLE_GALAXY_DISABLE_GPG_VERIFY=1 \
  ansible-galaxy collection install --offline -r requirements.yml --collections-path "$collections" \
  >"$work/galaxy-install.log" 2>&1) ||
  { cat "$work/galaxy-install.log" >&2; fail "the galaxy stage's collection install failed"; }
[[ -f $collections/ansible_collections/otlp/tls/MANIFEST.json ]] || fail "otlp.tls was not installed from $tarball"

# Builder stage: the introspection the Containerfile runs, over what the galaxy stage installed.
"$builder" introspect "$collections" --user-pip="$ctx/_build/requirements.txt" \
  --user-bindep="$ctx/_build/bindep.txt" --write-pip="$work/requirements.txt" \
  --write-bindep="$work/bindep.txt" >"$work/introspect.log" 2>&1 ||
  { cat "$work/introspect.log" >&2; fail "ansible-builder introspect failed"; }
grep -q '^cryptography>=3.3  # from collection otlp.tls$' "$work/requirements.txt" ||
  fail "the installed collection does not declare cryptography (meta/execution-environment.yml): $(cat "$work/requirements.txt")"
grep -q '^openssh-clients \[platform:rpm\]' "$work/bindep.txt" || fail "introspection lost openssh-clients"

# Those requirements, with what the base stage installs, as binary wheels for the image's
# python: the image has no compiler. Cached per requirement set once resolved.
{
  sed 's/  *#.*//' "$work/requirements.txt"
  sed -n 's/^ARG ANSIBLE_INSTALL_REFS="\(.*\)"$/\1/p' "$cf" | tr ' ' '\n'
  sed -n "s/^RUN \$PYCMD -m pip install --no-cache-dir '\(dumb-init.*\)'\$/\1/p" "$cf"
} | grep . | sort >"$work/image-requirements.txt"
wheels_marker="$OTLP_TLS_CACHE/ee-wheels-$({
  cat "$work/image-requirements.txt"
  echo "$ee_python $ee_glibc_minor"
} | otlp_hash -)"
wheels_state=cached
if [[ ! -f $wheels_marker ]]; then
  for arch in x86_64 aarch64; do
    platforms=()
    for minor in $(seq 17 "$ee_glibc_minor"); do platforms+=(--platform "manylinux_2_${minor}_$arch"); done
    "$ee_venv/bin/python" -m pip download --quiet --no-cache-dir --only-binary=:all: \
      --implementation cp --python-version "$ee_python" "${platforms[@]}" \
      -d "$work/wheels-$arch" -r "$work/image-requirements.txt" >"$work/wheels.log" 2>&1 ||
      { cat "$work/wheels.log" >&2; fail "no wheels for CPython $ee_python on $arch for: $(tr '\n' ' ' <"$work/image-requirements.txt")"; }
  done
  touch "$wheels_marker"
  wheels_state=resolved
fi

# The project playbook of docs/awx.md, against the collection installed from the tarball only.
awk '/<!-- tests\/ee\/check.sh: project playbook -->/ {on=1; next}
     on && /^```/ {if (inside) exit; inside=1; next}
     inside {print}' docs/awx.md >"$work/project-site.yml"
grep -q 'otlp.tls.site' "$work/project-site.yml" || fail "docs/awx.md: no project playbook after its tests/ee/check.sh marker"
ANSIBLE_COLLECTIONS_PATH=$collections ansible-playbook --syntax-check -i localhost, \
  "$work/project-site.yml" >"$work/syntax.log" 2>&1 ||
  { cat "$work/syntax.log" >&2; fail "the docs/awx.md project playbook fails --syntax-check"; }

echo "ee: ansible-builder $("$builder" --version) created a valid context for $tarball on $base;" \
  "$(grep -c . "$work/image-requirements.txt") python requirements as wheels ($wheels_state)," \
  "venv $venv_state; passed in $((SECONDS - start)) s"
