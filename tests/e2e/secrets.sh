#!/usr/bin/env bash
# Secrets on the e2e fleet (run by tests/e2e/run.sh last: it moves the fleet to a new,
# passphrase-protected CA):
#   1. site.yml at -vvv against a CA whose key is encrypted (all certificates re-issued),
#      then rotate.yml leaf at -vvv with keys made on the CA host and copied (the mode in
#      which keys pass through task arguments): no line of any output holds a line of any
#      private key (host keys, copied keys, the CA key encrypted or not) or the passphrase;
#   2. every private key is 0600 (apps: owned by the unit's user) or 0640 root:otelcol
#      (collector) and its directory is not world-readable;
#   3. the CA key never left the CA host: no file on any test host holds it;
#   4. the mTLS collector refuses its own server certificate presented as a client
#      certificate (extended key usage), and refuses TLS 1.1 and 1.0;
#   5. header values (an app's API key) and the collectors' backend token (tests/e2e/vars.yml),
#      and new ones, appear in none of those outputs nor in site.yml --check --diff -vvv and
#      site.yml -vvv runs that change them; on the hosts they are only in EnvironmentFile=s
#      0640 root:<the unit's group> (and the collector's 0640 config), in /etc/otlp-tls/env 0711.
# shellcheck disable=SC2154 # fleet, work, collectors, apps, hosts, extra, out: set by stage.sh
# shellcheck source=stage.sh
source "$(dirname "${BASH_SOURCE[0]}")/stage.sh" secrets
passphrase="e2e-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ca=$out/ca
extra=(-e "{\"otlp_tls_ca_dir\": \"$ca\", \"otlp_tls_ca_key_passphrase\": \"$passphrase\"}" -e @tests/e2e/vars.yml)
checks=0
ok() { checks=$((checks + 1)); echo "ok   $*" | tee -a "$out/summary.txt"; }
die() { echo "secrets: $*" >&2; exit 1; }

collect_keys() {  # every private key's base64 lines, one per line
  for host in "${hosts[@]}"; do
    podman exec "$fleet-$host" sh -c 'cat /etc/otlp-tls/*/key.pem 2>/dev/null' || true
  done
  find "$ca" -name '*.key' -exec cat {} + 2>/dev/null || true
  # The CA key decrypted too: a leak could print it in either form.
  [[ ! -f $ca/ca.key ]] || python3 - "$ca/ca.key" "$passphrase" <<'PY'
import sys
from cryptography.hazmat.primitives import serialization
key = serialization.load_pem_private_key(open(sys.argv[1], 'rb').read(), sys.argv[2].encode())
sys.stdout.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()).decode())
PY
}

collect_keys > "$out/keys-0.txt"
ansible-playbook -vvv "${extra[@]}" playbooks/site.yml > "$out/site-vvv.log" 2>&1 || { tail -40 "$out/site-vvv.log"; die "site.yml failed"; }
collect_keys > "$out/keys-1.txt"
# Header values and the collectors' backend token (tests/e2e/vars.yml), then new ones: a check
# run with --diff at -vvv that would change them, and a real run at -vvv that does (rotate.yml
# below puts the old ones back). Their logs end in -vvv.log, so the key search covers them too.
read -r old_header old_token < <(python3 -c 'import yaml; d = yaml.safe_load(open("tests/e2e/vars.yml"))
print(d["e2e_header_secret"], d["e2e_backend_token"])')
new_header="e2e-header-s3cret-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
new_token="e2e-backend-t0ken-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
secret_extra=(-e "{\"e2e_header_secret\": \"$new_header\", \"e2e_backend_token\": \"$new_token\"}")
ansible-playbook -vvv "${extra[@]}" "${secret_extra[@]}" playbooks/site.yml --check --diff > "$out/check-diff-vvv.log" 2>&1 \
  || { tail -40 "$out/check-diff-vvv.log"; die "site.yml --check --diff with new secrets failed"; }
ansible-playbook -vvv "${extra[@]}" "${secret_extra[@]}" playbooks/site.yml > "$out/secrets-vvv.log" 2>&1 \
  || { tail -40 "$out/secrets-vvv.log"; die "site.yml with new secrets failed"; }
ansible-playbook -vvv "${extra[@]}" playbooks/rotate.yml -e otlp_tls_rotate=leaf -e otlp_tls_rotate_new_keys=true \
  -e otlp_tls_certificate_key_location=ca_host > "$out/rotate-vvv.log" 2>&1 || { tail -40 "$out/rotate-vvv.log"; die "rotate.yml failed"; }
collect_keys > "$out/keys-2.txt"

# Header values are percent-encoded in OTEL_EXPORTER_OTLP_HEADERS; these need no encoding, so
# one form covers both.
printf '%s\n' "$old_header" "$old_token" "$new_header" "$new_token" > "$out/secret-needles.txt"
# The check run saw the changes (else finding nothing would prove nothing): the exporter's masked
# diff, and the collector's secret environment file and config reported changed.
grep -q 'OTEL_EXPORTER_OTLP_HEADERS=\*\{8\} (new value)' "$out/check-diff-vvv.log" \
  || die "the check run did not show the header change (masked) in its diff"
for task in "Write the collector's secret environment file" "Write the config only if the new collector binary validates it"; do
  python3 - "$out/check-diff-vvv.log" "$task" <<'PY' || die "the check run did not report a change for: $task"
import re, sys
text = open(sys.argv[1], errors='replace').read()
task = re.escape('TASK [otlp.tls.collector : %s]' % sys.argv[2])
sys.exit(0 if re.search(task + r'[^\n]*\n(?:(?!TASK \[).*\n)*?changed: ', text) else 1)
PY
done
logs=("$out/site-vvv.log" "$out/rotate-vvv.log" "$out/check-diff-vvv.log" "$out/secrets-vvv.log")
if grep -F -f "$out/secret-needles.txt" "${logs[@]}" > "$out/secret-leaks.txt"; then
  head -5 "$out/secret-leaks.txt" >&2; die "a header value or backend token appears in the output"
fi
ok "no header value or backend token (old or new) in $(cat "${logs[@]}" | wc -l) lines of site.yml -vvv, rotate.yml -vvv, site.yml --check --diff -vvv and site.yml -vvv changing them"

# Where the values are on the hosts: only in files that others can not read.
for host in "${hosts[@]}"; do
  podman exec -i "$fleet-$host" sh -c 'cat > /tmp/.needles; grep -rlF -f /tmp/.needles /etc /root /opt /var/lib /tmp \
    --exclude=.needles 2>/dev/null | while read -r f; do echo "$f $(stat -c "%a %U %G" "$f")"; done; rm -f /tmp/.needles' \
    < "$out/secret-needles.txt" | sed "s/^/$host /"
done > "$out/secret-files.txt"
grep -q ' /etc/otlp-tls/env/otelcol.service.env 640 root otelcol$' "$out/secret-files.txt" \
  || die "no collector holds its token in /etc/otlp-tls/env/otelcol.service.env, 0640 root:otelcol: $(cat "$out/secret-files.txt")"
grep -Eq ' /etc/otlp-tls/env/(e2e-[a-z]+-grpc)[.]service[.]env 640 root \1$' "$out/secret-files.txt" \
  || die "no app unit holds its header in /etc/otlp-tls/env/<unit>.service.env, 0640 root:<unit>: $(cat "$out/secret-files.txt")"
while read -r host file mode _owner _group; do
  [[ $file == /etc/otlp-tls/env/*.env || $file == /etc/otelcol/config.yaml ]] \
    || die "$host:$file holds a secret (only the env files and the collector config may)"
  (( (8#$mode & 8#004) == 0 )) || die "$host:$file holds a secret and is readable by others ($mode)"
done < "$out/secret-files.txt"
for host in "${hosts[@]}"; do
  dirmode=$(podman exec "$fleet-$host" sh -c 'stat -c "%a %U %G" /etc/otlp-tls/env 2>/dev/null || echo none')
  [[ $dirmode == "711 root root" ]] || die "$host:/etc/otlp-tls/env is $dirmode, want 711 root root (not listable by others)"
done
ok "header values and backend tokens only in 0640 files: $(awk '{print $1":"$2" "$3" "$4":"$5}' "$out/secret-files.txt" | paste -sd, -)"

# Every base64 line of every key seen at any point (16+ characters), except the parts that
# are public: an EC key's last line is the tail of its public key, which CSRs and
# certificates carry too. The lines with the private scalar stay.
python3 - "$out" "$out"/keys-*.txt <<'PY' > "$out/needles.txt"
import glob, os, re, sys
out, key_files = sys.argv[1], sys.argv[2:]
lines = set()
for path in key_files:
    for line in open(path):
        line = line.strip()
        if re.match(r'^[A-Za-z0-9+/=]{16,}$', line):
            lines.add(line)
public, inside = [], False
for path in glob.glob(os.path.join(out, '*-vvv.log')):
    for line in open(path, errors='replace'):
        text = line.strip().strip('"').strip("'")
        if re.search(r'-----BEGIN (CERTIFICATE|CERTIFICATE REQUEST|PUBLIC KEY)-----', text):
            inside = True
        elif '-----END' in text:
            inside = False
        elif inside:
            public.append(text)
public_text = '\n'.join(public)
for line in sorted(lines):
    if line not in public_text:
        print(line)
PY
keys=$(cat "$out"/keys-*.txt | grep -c 'BEGIN.*PRIVATE KEY' || true)
echo "$passphrase" >> "$out/needles.txt"
needles=$(wc -l < "$out/needles.txt") lines=$(cat "$out"/*-vvv.log | wc -l)
[[ $needles -gt $keys ]] || die "only $needles private key lines for $keys keys: the test would prove nothing"
if grep -F -f "$out/needles.txt" "$out"/*-vvv.log > "$out/leaks.txt"; then
  head -5 "$out/leaks.txt" >&2; die "key material or the passphrase appears in the -vvv output"
fi
ok "no private key line or passphrase in $lines lines of site.yml and rotate.yml -vvv output ($keys keys, $needles lines searched)"
grep -q 'ENCRYPTED PRIVATE KEY' "$ca/ca.key" || die "the CA key is not encrypted at rest"
ok "the CA key is encrypted at rest (PKCS#8, passphrase)"

# Modes and owners.
for host in "${hosts[@]}"; do
  podman exec "$fleet-$host" sh -c 'for d in /etc/otlp-tls/*/; do [ -e "$d/key.pem" ] || continue
    echo "$d $(stat -c "%a %U %G" "$d/key.pem") $(stat -c "%a" "$d")"; done' | sed "s/^/$host /"
done > "$out/modes.txt"
while read -r host dir mode owner group dirmode; do
  name=$(basename "$dir")
  if [[ $name == collector ]]; then want="640 root otelcol"; else want="600 $name $name"; fi
  [[ "$mode $owner $group" == "$want" ]] || die "$host:$dir/key.pem is $mode $owner:$group, want $want"
  [[ $dirmode == 750 ]] || die "$host:$dir is $dirmode, want 750"
done < "$out/modes.txt"
ok "$(wc -l < "$out/modes.txt") private keys: apps 0600 owned by the unit's user, collectors 0640 root:otelcol, directories 0750"

# The CA key (in both forms) is on no test host.
python3 - "$ca/ca.key" "$passphrase" > "$out/ca-needles.txt" <<'PY'
import sys
from cryptography.hazmat.primitives import serialization
data = open(sys.argv[1], 'rb').read()
key = serialization.load_pem_private_key(data, sys.argv[2].encode())
plain = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
for pem in (data, plain):
    for line in pem.decode().splitlines():
        if len(line) >= 16 and not line.startswith('-----'):
            print(line)
PY
for host in "${hosts[@]}"; do
  podman exec -i "$fleet-$host" sh -c 'cat > /tmp/.needles; grep -rlF -f /tmp/.needles /etc /root /opt /var/lib /tmp \
    --exclude=.needles 2>/dev/null; rm -f /tmp/.needles' < "$out/ca-needles.txt" > "$out/ca-found-$host.txt" || true
  [[ ! -s $out/ca-found-$host.txt ]] || die "the CA key is on $host: $(cat "$out/ca-found-$host.txt")"
done
ok "the CA key is on none of the ${#hosts[@]} test hosts (searched /etc /root /opt /var/lib /tmp for each of its lines)"

# The collector's server certificate as a client certificate: refused (no clientAuth).
podman exec -i "$fleet-collector-mtls" python3 - > "$out/eku.txt" 2>&1 <<'PY' || true
import socket, ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations('/etc/otlp-tls/collector/ca.pem')
ctx.load_cert_chain('/etc/otlp-tls/collector/cert.pem', '/etc/otlp-tls/collector/key.pem')
ctx.set_alpn_protocols(['h2'])
with socket.create_connection(('collector-mtls', 4317), timeout=5) as raw:
    with ctx.wrap_socket(raw, server_hostname='collector-mtls') as tls:
        tls.sendall(b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00')
        print('answer', len(tls.recv(64)))
PY
grep -Eqi 'bad certificate|unsupported certificate|certificate unknown|alert' "$out/eku.txt" \
  || die "the collector accepted its own server certificate as a client certificate: $(cat "$out/eku.txt")"
ok "a server certificate (serverAuth only) presented as a client certificate is refused: $(grep -Eoi 'alert [a-z ]+' "$out/eku.txt" | head -1)"
for version in tls1_1 tls1; do
  podman exec "$fleet-app-mtls" sh -c "echo | openssl s_client -$version -cipher DEFAULT@SECLEVEL=0 -connect collector-mtls:4317 \
    -cert /etc/otlp-tls/e2e-go-grpc/cert.pem -key /etc/otlp-tls/e2e-go-grpc/key.pem" > "$out/$version.txt" 2>&1 || true
  grep -q "tlsv1 alert protocol version" "$out/$version.txt" \
    || die "$version was not refused for its protocol version: $(head -3 "$out/$version.txt")"
done
ok "TLS 1.1 and TLS 1.0, offered by an openssl client allowed to use them, are refused by the mTLS collector (alert protocol_version)"
echo "secrets: $checks checks passed" | tee -a "$out/summary.txt"
