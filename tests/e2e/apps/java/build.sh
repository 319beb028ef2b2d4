#!/usr/bin/env bash
# Build the Java E2E app: a tiny API-only app run under the OpenTelemetry Java agent.
#
# Why this shape: the test containers get Debian's JRE and nothing else (no network, no
# Maven), so everything must be built here on the controller and copied in. The jars
# come from Maven (pinned in pom.xml); javac/jar build the app so there is no Maven
# compile setup to maintain. The result is keyed by a hash of the sources, pom.xml (the
# pinned versions) and this script, so a changed pin never reuses a stale build.
#
# Output (in ${XDG_CACHE_HOME:-$HOME/.cache}/otlp-tls/e2e-java-<hash>/):
#   run                         launcher: java -javaagent:<dir>/opentelemetry-javaagent.jar -jar <dir>/app.jar
#   app.jar                     the app; its manifest Class-Path points at lib/
#   lib/                        opentelemetry-api and its dependencies (bridged by the agent)
#   opentelemetry-javaagent.jar the agent, under a version-free name
#   build-info.txt              what produced it
# The last line of stdout is the directory; everything else goes to stderr.
# `build.sh --cached` only prints it when already built (exit 3 otherwise), never builds.
#
# Environment: JAVAC, JAR, MVN (tools), XDG_CACHE_HOME. Maven uses the user's own
# settings and local repository, so downloads are shared with other builds.
# shellcheck disable=SC2154 # cache, out, work, stage, start: set by build_cache_open (tests/lib/build_cache.sh)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
JAVAC=${JAVAC:-javac}
JAR=${JAR:-jar}
MVN=${MVN:-mvn}

hash=$( { cd "$here" && find src pom.xml build.sh -type f | LC_ALL=C sort | xargs sha256sum; } \
  | sha256sum | cut -c1-16)
# shellcheck source=../../../lib/build_cache.sh
source "$here/../../../lib/build_cache.sh"
build_cache_open e2e-java "$hash" "${1:-}" "" run build-info.txt

# Maven runs on a copy of the pom so it never writes into the source tree.
cp "$here/pom.xml" "$work/pom.xml"
echo "build.sh: fetching the agent and API jars with Maven" >&2
(cd "$work" && "$MVN" -B -q -e package -De2e.out="$stage") >&2

classpath=$(cd "$stage" && find lib -name '*.jar' | LC_ALL=C sort | tr '\n' ' ')
[[ -n $classpath ]] || { echo "build.sh: Maven copied no API jars" >&2; exit 1; }

echo "build.sh: compiling the app" >&2
mkdir -p "$work/classes"
mapfile -t java_sources < <(find "$here/src" -name '*.java' | LC_ALL=C sort)
# --release 11: the oldest default JRE of the test hosts' releases (Debian 11's OpenJDK 11;
# bookworm has 17, trixie 21). The agent itself runs on Java 8 and later.
"$JAVAC" --release 11 -nowarn -d "$work/classes" \
  -cp "$stage/lib/*" \
  "${java_sources[@]}" >&2
{
  echo "Main-Class: e2e.Main"
  # Manifest paths are relative to app.jar, which keeps the output dir relocatable.
  echo "Class-Path: ${classpath% }"
} >"$work/manifest.txt"
"$JAR" --create --file "$stage/app.jar" --manifest "$work/manifest.txt" -C "$work/classes" . >&2

cat >"$stage/run" <<'RUN'
#!/bin/sh
# All exporter settings come from the OTEL_* environment, read by the agent.
DIR=$(cd "$(dirname "$0")" && pwd)
exec java -javaagent:"$DIR/opentelemetry-javaagent.jar" -jar "$DIR/app.jar"
RUN
chmod 0755 "$stage/run"

# Refuse to cache a build without the app class or the agent.
"$JAR" --list --file "$stage/app.jar" | grep -qx 'e2e/Main.class' \
  || { echo "build.sh: app.jar has no e2e/Main.class" >&2; exit 1; }
[[ -s $stage/opentelemetry-javaagent.jar ]] || { echo "build.sh: no agent jar" >&2; exit 1; }

{
  sed -n 's#.*<otel.agent.version>\(.*\)</otel.agent.version>.*#otel_javaagent: \1#p; s#.*<otel.api.version>\(.*\)</otel.api.version>.*#otel_api: \1#p' "$here/pom.xml"
  echo "javac: $("$JAVAC" -version 2>&1)"
  echo "build_seconds: $((SECONDS - start))"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$stage/build-info.txt"

build_cache_close
