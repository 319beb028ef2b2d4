# shellcheck shell=bash
# The cache life cycle shared by the test builds (tests/collector/build.sh and
# tests/e2e/apps/*/build.sh). A build is the directory <cache>/<name>-<hash>; it only ever
# appears complete (built in a temp dir on the same filesystem, then one mv), so its
# presence is enough and no lock is needed to read it. Parallel jobs building the same
# thing: the first builds under a lock, the others wait and then take the fast path.
# Only the mechanics live here; what goes into a build (and so its hash) is the caller's.
#
#   build_cache_open NAME HASH MODE PRINT FILE...
#     MODE: the caller's first argument (--cached: never build; exit 3 when not built).
#     PRINT: what to print when done, relative to the build directory ("" for itself).
#     FILE...: files a complete build holds; the first must be executable.
#     Prints the path and exits 0 when the build exists. Otherwise takes the lock and sets
#     cache, out, work (removed on exit), stage (empty, becomes the build) and start.
#   build_cache_close
#     Moves stage into place and prints the path (the last line of stdout).

build_cache_complete() {  # DIR FILE...
  local dir=$1 file
  shift
  [[ -x $dir/$1 ]] || return 1
  for file in "${@:2}"; do [[ -f $dir/$file ]] || return 1; done
}

build_cache_open() {
  local name=$1 hash=$2 mode=$3
  build_cache_print=$4
  shift 4
  build_cache_files=("$@")
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/otlp-tls
  out="$cache/$name-$hash"
  if build_cache_complete "$out" "${build_cache_files[@]}"; then
    echo "$out${build_cache_print:+/$build_cache_print}"
    exit 0
  fi
  [[ $mode != --cached ]] || exit 3
  mkdir -p "$cache"
  # One lock per name for all hashes: two builds at once would only fight over 2 cores.
  exec 9>"$cache/.$name.lock"
  flock 9
  if build_cache_complete "$out" "${build_cache_files[@]}"; then
    echo "$out${build_cache_print:+/$build_cache_print}"
    exit 0
  fi
  start=$SECONDS
  work=$(mktemp -d "$cache/.$name-$hash.XXXXXX")
  # shellcheck disable=SC2064 # expanded now, on purpose
  trap "rm -rf '$work'" EXIT
  stage="$work/stage"
  mkdir -p "$stage"
}

build_cache_close() {
  build_cache_complete "$stage" "${build_cache_files[@]}" \
    || { echo "build.sh: the build lacks one of ${build_cache_files[*]}" >&2; exit 1; }
  rm -rf "$out"
  mv -T "$stage" "$out"
  echo "build.sh: built in $((SECONDS - start)) s" >&2
  echo "$out${build_cache_print:+/$build_cache_print}"
}
