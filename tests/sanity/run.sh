#!/usr/bin/env bash
# ansible-test sanity on this checkout, offline-capable.
#
# ansible-test wants the collection at .../ansible_collections/otlp/tls, so the tracked
# (and new, unignored) files are copied into such a tree under .tmp/. Its per-test
# virtualenvs bootstrap pip from a download host outside the package registries; our
# stand-in (get_pip_bootstrap.py) is put where ansible-test looks for a cached copy.
# ansible-core runs from its own cached venv so that the sanity tools' pins never
# touch the test venv.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
cd "$OTLP_TLS_ROOT"

core_pin=$(grep -E '^ansible-core==' requirements/test.txt)
venv="$OTLP_TLS_CACHE/sanity-venv-$(printf '%s\n' "$core_pin" | otlp_hash -)"
# A venv can not be moved into place (its scripts name their own path), so a marker
# file written last tells a complete one from an interrupted one.
if [[ ! -f $venv/.complete ]]; then
  otlp_log "sanity: creating $venv ($core_pin)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet "$core_pin"
  touch "$venv/.complete"
fi

# ansible-test names the script after the pip version it bootstraps (default_packages).
pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',\$/\1/p" \
  "$venv"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -n1)
[[ -n $pip_version ]] || { echo "sanity: cannot find ansible-test's pip version" >&2; exit 1; }
mkdir -p "$HOME/.ansible/test/cache"
install -m 0644 tests/sanity/get_pip_bootstrap.py "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"

tree=.tmp/sanity/ansible_collections/otlp/tls
rm -rf .tmp/sanity
mkdir -p "$tree"
git ls-files -co --exclude-standard | grep -v '^\.tmp/' | tar -cf - -T - | tar -xf - -C "$tree"
cd "$tree"
# ansible-test lists files with git when there is a repository; a fresh one holds the copy.
git init -q && git add -A
otlp_log "sanity: ansible-test sanity (python 3.11)"
"$venv/bin/ansible-test" sanity --python 3.11 --requirements --color no "$@"

# The docs as a docs site (docs.ansible.com style) renders them: every module's, filter's and
# role's documentation, the changelog, links and markup. ansible-doc comes from the test venv.
test_venv=$(otlp_venv_dir)
otlp_log "sanity: antsibull-docs lint-collection-docs"
PATH="$test_venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$OTLP_TLS_ROOT/.tmp/sanity" \
  "$test_venv/bin/antsibull-docs" lint-collection-docs --plugin-docs .
