# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""X.509 logic shared by the otlp.tls modules.

Everything that decides *what* a certificate or key should look like, and
whether an existing one is still good, lives here so that the idempotence
rules are written once and unit-tested once.  The modules only move bytes
between files and these functions.

The code must run on the controller (recent ``cryptography``) and on managed
hosts that ship older distribution packages (Debian bookworm has 38.0), so it
avoids APIs newer than that or falls back when they are missing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import ipaddress
import re

from ansible_collections.otlp.tls.plugins.module_utils import renewal

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised only without the library
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = exc

KEY_TYPES = ('ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096')
PROFILES = ('server', 'client', 'both')

# Certificates are back-dated a little so that hosts whose clocks run a few
# minutes behind the CA host accept them immediately.
BACKDATE = datetime.timedelta(minutes=5)

_PEM_CERT_RE = re.compile(
    b'-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----', re.DOTALL)


class PKIError(Exception):
    """A problem with key or certificate material, worded for the user."""


def utcnow():
    """Timezone-aware 'now' in UTC (a function so tests can move time)."""
    return datetime.datetime.now(datetime.timezone.utc)


def _aware(value):
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value


def not_after(cert):
    """Expiry of ``cert`` as an aware UTC datetime, on old and new cryptography."""
    value = getattr(cert, 'not_valid_after_utc', None)
    return value if value is not None else _aware(cert.not_valid_after)


def not_before(cert):
    """Start of validity of ``cert`` as an aware UTC datetime."""
    value = getattr(cert, 'not_valid_before_utc', None)
    return value if value is not None else _aware(cert.not_valid_before)


def to_bytes(value):
    if isinstance(value, bytes):
        return value
    return value.encode('utf-8')


# ---------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------

def generate_private_key(key_type):
    """Create a new private key of one of ``KEY_TYPES``."""
    if key_type == 'ec-p256':
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == 'ec-p384':
        return ec.generate_private_key(ec.SECP384R1())
    if key_type.startswith('rsa-') and key_type in KEY_TYPES:
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[4:]))
    raise PKIError('unknown key_type %r: choose one of %s' % (key_type, ', '.join(KEY_TYPES)))


def key_type_of(key):
    """Name a private or public key in ``KEY_TYPES`` terms (or a plain description)."""
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return {'secp256r1': 'ec-p256', 'secp384r1': 'ec-p384'}.get(key.curve.name, 'ec-' + key.curve.name)
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return 'rsa-%d' % key.key_size
    return type(key).__name__


def private_key_format(data):
    """Tell how a PEM private key is wrapped: pkcs8, pkcs8-encrypted, pkcs1, sec1, or unknown."""
    data = to_bytes(data)
    if b'-----BEGIN PRIVATE KEY-----' in data:
        return 'pkcs8'
    if b'-----BEGIN ENCRYPTED PRIVATE KEY-----' in data:
        return 'pkcs8-encrypted'
    if b'-----BEGIN RSA PRIVATE KEY-----' in data:
        return 'pkcs1'
    if b'-----BEGIN EC PRIVATE KEY-----' in data:
        return 'sec1'
    return 'unknown'


def load_private_key(data, passphrase=None, source='private key'):
    """Load a PEM (PKCS#8, PKCS#1, SEC1, encrypted or not) or DER private key.

    Raises PKIError with a message that says what is wrong and how to fix it.
    """
    data = to_bytes(data)
    password = to_bytes(passphrase) if passphrase else None
    encrypted = b'ENCRYPTED' in data or b'Proc-Type: 4,ENCRYPTED' in data
    loaders = [serialization.load_pem_private_key]
    if b'-----BEGIN' not in data:
        loaders = [serialization.load_der_private_key]
    last_error = None
    for loader in loaders:
        try:
            key = loader(data, password=password)
        except TypeError as exc:
            # Raised both for "encrypted but no password" and "password given
            # but not encrypted".
            if password is None:
                raise PKIError('%s is encrypted but no passphrase was given: set the passphrase option' % source)
            raise PKIError('%s is not encrypted but a passphrase was given: remove the passphrase option (%s)' % (source, exc))
        except ValueError as exc:
            last_error = exc
            continue
        if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
            raise PKIError('%s is a %s key: only RSA and EC keys work with every OpenTelemetry SDK'
                           % (source, type(key).__name__))
        return key
    if encrypted and password is not None:
        raise PKIError('%s could not be decrypted: the passphrase is wrong (or the file is damaged)' % source)
    raise PKIError('%s is not a readable PEM or DER private key (%s)' % (source, last_error))


def private_key_to_pkcs8(key, passphrase=None):
    """Serialize as PKCS#8 PEM: the only format every SDK (notably Java) reads."""
    if passphrase:
        algorithm = serialization.BestAvailableEncryption(to_bytes(passphrase))
    else:
        algorithm = serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, algorithm)


def public_key_der(key):
    """DER SubjectPublicKeyInfo of a private key, public key or certificate."""
    if hasattr(key, 'public_key'):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key_fingerprint(key):
    """SHA-256 of the public key, hex: stable identity of a key pair that reveals nothing."""
    return hashlib.sha256(public_key_der(key)).hexdigest()


def key_matches_certificate(key, cert):
    return public_key_der(key) == public_key_der(cert.public_key())


# ---------------------------------------------------------------------------
# Certificates and CSRs
# ---------------------------------------------------------------------------

def load_certificate(data, source='certificate'):
    """Load the first certificate of PEM or DER data."""
    data = to_bytes(data)
    try:
        if b'-----BEGIN' in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise PKIError('%s is not a readable PEM or DER certificate (%s)' % (source, exc))


def load_certificates(data, source='certificate bundle'):
    """Load every certificate of a PEM bundle (works on cryptography < 39 too)."""
    data = to_bytes(data)
    blocks = _PEM_CERT_RE.findall(data)
    if not blocks:
        if data.strip() and b'-----BEGIN' not in data:
            return [load_certificate(data, source)]
        raise PKIError('%s holds no PEM certificate' % source)
    return [load_certificate(block, source) for block in blocks]


def load_csr(data, source='certificate signing request'):
    """Load a PEM CSR whose signature verifies (proof of possession) and whose extensions all parse."""
    try:
        csr = x509.load_pem_x509_csr(to_bytes(data))
    except ValueError as exc:
        raise PKIError('%s is not a readable PEM CSR (%s)' % (source, exc))
    try:
        valid = csr.is_signature_valid
        list(csr.extensions)
        csr.subject.rfc4514_string()
        csr.public_key()
    # Any parse failure of untrusted input.
    except Exception as exc:  # pylint: disable=broad-except
        raise PKIError('%s can not be parsed (%s: %s)' % (source, type(exc).__name__, exc))
    if not valid:
        raise PKIError('%s has an invalid signature: it was not made with the key it carries' % source)
    return csr


def certificate_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def csr_pem(csr):
    return csr.public_bytes(serialization.Encoding.PEM)


def certificate_fingerprint(cert):
    return cert.fingerprint(hashes.SHA256()).hex()


def build_name(common_name, organization=None):
    attributes = []
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _signing_hash(key):
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def normalize_sans(dns_names=None, ip_addresses=None):
    """Return (sorted lower-case DNS names, sorted canonical IP strings), validated."""
    dns = sorted(set(name.strip().lower().rstrip('.') for name in (dns_names or []) if name.strip()))
    for name in dns:
        if not re.match(r'^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$', name):
            raise PKIError('%r is not a valid DNS name for a subjectAltName' % name)
    ips = []
    for value in ip_addresses or []:
        try:
            ips.append(str(ipaddress.ip_address(str(value).strip())))
        except ValueError:
            raise PKIError('%r is not an IP address: list host names under dns_names' % value)
    return dns, sorted(set(ips), key=lambda v: (ipaddress.ip_address(v).version, ipaddress.ip_address(v)))


def split_names(names):
    """Split host names and addresses into (dns names, ip addresses) by their form."""
    dns, ips = [], []
    for name in names or []:
        name = str(name).strip()
        try:
            ips.append(str(ipaddress.ip_address(name)))
        except ValueError:
            dns.append(name)
    return dns, ips


def _san_extension(dns, ips):
    names = [x509.DNSName(name) for name in dns]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    return x509.SubjectAlternativeName(names)


def build_csr(key, common_name, organization=None, dns_names=None, ip_addresses=None, profile=None):
    """A CSR for ``key`` carrying the subject, SANs and (optionally) the profile the certificate should have.

    The profile travels as a requested extendedKeyUsage, so that one signing
    call for many hosts knows what each host asked for.
    """
    dns, ips = normalize_sans(dns_names, ip_addresses)
    builder = x509.CertificateSigningRequestBuilder().subject_name(build_name(common_name, organization))
    if dns or ips:
        builder = builder.add_extension(_san_extension(dns, ips), critical=False)
    if profile:
        builder = builder.add_extension(x509.ExtendedKeyUsage(profile_usages(profile)), critical=False)
    return builder.sign(key, _signing_hash(key))


def _ski(public_key):
    return x509.SubjectKeyIdentifier.from_public_key(public_key)


def build_name_constraints(permitted_dns=None, permitted_ips=None):
    """A NameConstraints extension value, or None when nothing is constrained.

    ``permitted_dns``: DNS suffixes (``example.internal`` permits it and every name under it);
    ``permitted_ips``: networks in CIDR form (``10.0.0.0/8``, ``fd00::/8``).
    """
    dns = normalize_constraint_dns(permitted_dns)
    nets = normalize_constraint_ips(permitted_ips)
    if not dns and not nets:
        return None
    subtrees = [x509.DNSName(name) for name in dns]
    subtrees += [x509.IPAddress(ipaddress.ip_network(net)) for net in nets]
    return x509.NameConstraints(permitted_subtrees=subtrees, excluded_subtrees=None)


def normalize_constraint_dns(values):
    out = []
    for value in values or []:
        name = str(value).strip().lower().rstrip('.').lstrip('.')
        if not name:
            continue
        if '*' in name or not re.match(r'^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$', name):
            raise PKIError('%r is not a DNS suffix for a name constraint: write it like example.internal '
                           '(no wildcard, no scheme)' % value)
        out.append(name)
    return sorted(set(out))


def normalize_constraint_ips(values):
    out = []
    for value in values or []:
        try:
            out.append(ipaddress.ip_network(str(value).strip(), strict=True))
        except ValueError as exc:
            raise PKIError('%r is not a network for a name constraint: write it like 10.0.0.0/8 or fd00::/8 (%s)'
                           % (value, exc))
    return [str(net) for net in sorted(set(out), key=lambda n: (n.version, n))]


def name_constraints_of(cert):
    """(permitted DNS suffixes, permitted IP networks) of a CA certificate, or None when it has no constraints."""
    ext = _extension_value(cert, x509.NameConstraints)
    if ext is None:
        return None
    dns, nets = [], []
    for subtree in ext.permitted_subtrees or []:
        if isinstance(subtree, x509.DNSName):
            dns.append(subtree.value.lower().lstrip('.'))
        elif isinstance(subtree, x509.IPAddress):
            nets.append(str(subtree.value))
    return sorted(set(dns)), nets


def names_outside_constraints(dns_names, ip_addresses, permitted_dns, permitted_ips):
    """The names of a certificate that a CA with these permitted subtrees may not sign.

    A DNS name is inside a suffix when it equals it or ends with ``.suffix`` (RFC 5280
    4.2.1.10); a wildcard is checked on its base name. When the CA constrains one type only,
    names of the other type are unconstrained, as TLS clients treat them.
    """
    outside = []
    if permitted_dns:
        for name in dns_names:
            base = name[2:] if name.startswith('*.') else name
            if not any(base == suffix or base.endswith('.' + suffix) for suffix in permitted_dns):
                outside.append(name)
    if permitted_ips:
        nets = [ipaddress.ip_network(net) for net in permitted_ips]
        for value in ip_addresses:
            address = ipaddress.ip_address(value)
            if not any(address.version == net.version and address in net for net in nets):
                outside.append(value)
    return outside


def build_ca_certificate(key, common_name, organization=None, validity_days=3650, now=None,
                         permitted_dns=None, permitted_ips=None):
    """A self-signed CA certificate that may sign leaves only (path length 0).

    With ``permitted_dns`` or ``permitted_ips`` it carries critical nameConstraints: TLS
    clients then refuse any leaf of this CA for a name outside them, whoever signed it.
    """
    now = now or utcnow()
    name = build_name(common_name, organization)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=validity_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(_ski(key.public_key()), critical=False)
    )
    constraints = build_name_constraints(permitted_dns, permitted_ips)
    if constraints is not None:
        builder = builder.add_extension(constraints, critical=True)
    return builder.sign(key, _signing_hash(key))


def profile_usages(profile):
    """Extended key usages for a profile name."""
    if profile == 'server':
        return [ExtendedKeyUsageOID.SERVER_AUTH]
    if profile == 'client':
        return [ExtendedKeyUsageOID.CLIENT_AUTH]
    if profile == 'both':
        return [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    raise PKIError('unknown profile %r: choose one of %s' % (profile, ', '.join(PROFILES)))


def _extension_value(obj, ext_class):
    try:
        return obj.extensions.get_extension_for_class(ext_class).value
    except x509.ExtensionNotFound:
        return None


def sans_of(obj):
    """(dns names, ip strings) of a certificate or CSR, normalized like normalize_sans."""
    ext = _extension_value(obj, x509.SubjectAlternativeName)
    if ext is None:
        return [], []
    return normalize_sans(ext.get_values_for_type(x509.DNSName),
                          [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)])


def profile_of(cert):
    """'server', 'client', 'both' or None, from the certificate's extended key usage."""
    ext = _extension_value(cert, x509.ExtendedKeyUsage)
    if ext is None:
        return None
    usages = set(ext)
    server = ExtendedKeyUsageOID.SERVER_AUTH in usages
    client = ExtendedKeyUsageOID.CLIENT_AUTH in usages
    if server and client:
        return 'both'
    if server:
        return 'server'
    if client:
        return 'client'
    return None


def is_ca(cert):
    ext = _extension_value(cert, x509.BasicConstraints)
    return bool(ext and ext.ca)


def sign_csr(csr, ca_key, ca_cert, profile, validity_days, now=None):
    """Issue a leaf certificate for ``csr`` with the subject and SANs the CSR carries.

    For tests and tools only: the signer (x509_sign) issues from a grant, with
    ``issue_certificate``, and takes nothing but the public key from a CSR.
    """
    dns, ips = sans_of(csr)
    return issue_certificate(csr.public_key(), csr.subject, dns, ips, profile, validity_days, ca_key, ca_cert, now)


def issue_certificate(public_key, subject, dns, ips, profile, validity_days, ca_key, ca_cert, now=None):
    """Issue a leaf certificate for ``public_key`` with exactly this subject, these SANs and profile.

    Key usage, basic constraints and key identifiers are set here, never taken from a request.
    """
    now = now or utcnow()
    usages = profile_usages(profile)
    end = now + datetime.timedelta(days=validity_days)
    if end > not_after(ca_cert):
        raise PKIError('the certificate would outlive its CA (CA expires %s): lower validity_days or rotate the CA'
                       % not_after(ca_cert).strftime('%Y-%m-%d'))
    key_encipherment = isinstance(public_key, rsa.RSAPublicKey)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=key_encipherment,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(_ski(public_key), critical=False)
    )
    ca_ski = _extension_value(ca_cert, x509.SubjectKeyIdentifier)
    if ca_ski is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    else:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
    if dns or ips:
        builder = builder.add_extension(_san_extension(dns, ips), critical=False)
    return builder.sign(ca_key, _signing_hash(ca_key))


# ---------------------------------------------------------------------------
# Issuance policy: what the inventory grants, and what a CSR may ask for
# ---------------------------------------------------------------------------

class Grant(object):
    """What the CA may issue for one request: decided by the controller, never by the CSR."""

    def __init__(self, common_name, organization=None, subject_alt_names=None, profile='client'):
        if not common_name or not str(common_name).strip():
            raise PKIError('the grant has no common_name')
        self.common_name = str(common_name).strip()
        self.organization = organization or None
        self.dns, self.ips = normalize_sans(*split_names(subject_alt_names or []))
        if profile not in PROFILES:
            raise PKIError('unknown profile %r: choose one of %s' % (profile, ', '.join(PROFILES)))
        self.profile = profile
        self.subject = build_name(self.common_name, self.organization)

    def describe(self):
        return 'subject %s, names %s, %s' % (describe_name(self.subject), ', '.join(self.dns + self.ips) or 'none',
                                             _PROFILE_WORDS[self.profile])


_PROFILE_WORDS = {'server': 'serverAuth', 'client': 'clientAuth', 'both': 'serverAuth and clientAuth'}
_ALLOWED_KEY_USAGES = ('digital_signature', 'key_encipherment', 'key_agreement', 'content_commitment')


def grant_problems(grant, permitted_dns=None, permitted_ips=None, allow_wildcards=False):
    """Why the CA must not issue ``grant`` at all, whatever the CSR: wildcards, names outside the constraints."""
    problems = []
    wildcards = [name for name in grant.dns if '*' in name]
    if wildcards and not allow_wildcards:
        problems.append('wildcard names (%s) need the CA\'s explicit opt-in (otlp_tls_ca_allow_wildcard_names, '
                        'x509_sign allow_wildcards): list the host names instead' % ', '.join(wildcards))
    outside = names_outside_constraints(grant.dns, grant.ips, permitted_dns, permitted_ips)
    if outside:
        problems.append('%s %s outside the CA\'s name constraints (%s): fix the inventory, or widen '
                        'otlp_tls_ca_permitted_dns_domains / otlp_tls_ca_permitted_ip_ranges and rotate the CA' % (
                            ', '.join(outside), 'is' if len(outside) == 1 else 'are',
                            ', '.join(list(permitted_dns or []) + list(permitted_ips or [])) or 'none'))
    return problems


def _extension_oid_name(ext):
    return getattr(ext.oid, '_name', None) or ext.oid.dotted_string


def csr_asks_beyond(csr, grant):
    """What ``csr`` asks for that ``grant`` does not give; empty when the CSR asks for the grant or less.

    The CSR's signature (proof of possession of its key) is checked by load_csr. An empty
    subject or no extensions ask for nothing; the certificate is built from the grant alone.
    """
    asked = []
    if len(csr.subject) and csr.subject != grant.subject:
        asked.append('subject %s' % describe_name(csr.subject))
    dns, ips = sans_of(csr)
    extra = [name for name in dns if name not in grant.dns] + [ip for ip in ips if ip not in grant.ips]
    if extra:
        asked.append('names %s' % ', '.join(extra))
    granted = set(profile_usages(grant.profile))
    for ext in csr.extensions:
        value = ext.value
        if isinstance(value, x509.SubjectAlternativeName):
            other = [n for n in value if not isinstance(n, (x509.DNSName, x509.IPAddress))]
            if other:
                asked.append('subjectAltName entries of type %s' % ', '.join(sorted(set(type(n).__name__ for n in other))))
        elif isinstance(value, x509.ExtendedKeyUsage):
            beyond = [usage for usage in value if usage not in granted]
            if beyond:
                asked.append('extended key usage %s' % ', '.join(
                    getattr(u, '_name', None) or u.dotted_string for u in beyond))
        elif isinstance(value, x509.BasicConstraints):
            if value.ca:
                asked.append('CA:TRUE (a CA certificate)')
        elif isinstance(value, x509.KeyUsage):
            if value.key_cert_sign or value.crl_sign:
                asked.append('key usage keyCertSign/cRLSign')
        else:
            asked.append('extension %s' % _extension_oid_name(ext))
    return asked


def refusal_message(request_label, asked, grant):
    return ('%s: the CSR asks for %s, but the inventory grants %s. Nothing was signed for it. If the inventory is '
            'right, the host is misconfigured or compromised: check it before it gets any certificate; if the host '
            'is right, change its entry in the inventory.' % (request_label, '; '.join(asked), grant.describe()))


def is_signed_by(cert, issuer):
    """True when ``issuer``'s key made ``cert``'s signature (and the names chain)."""
    if cert.issuer != issuer.subject:
        return False
    public_key = issuer.public_key()
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                              cert.signature_hash_algorithm)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(cert.signature, cert.tbs_certificate_bytes,
                              ec.ECDSA(cert.signature_hash_algorithm))
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def verify_chain(cert, trust_roots, intermediates=None, now=None):
    """Build a path from ``cert`` to one of ``trust_roots``; return problems (empty = verified).

    Checks signatures, validity periods and that every issuer is a CA.
    """
    now = now or utcnow()
    problems = []
    pool = list(intermediates or []) + list(trust_roots)
    roots = set(certificate_fingerprint(c) for c in trust_roots)
    current = cert
    for _depth in range(8):
        if certificate_fingerprint(current) in roots:
            break
        issuer = next((c for c in pool if c is not current and is_signed_by(current, c)), None)
        if issuer is None:
            problems.append('no certificate in the trust bundle or chain signed %s: the chain does not verify'
                            % describe_name(current.subject))
            return problems
        if not is_ca(issuer):
            problems.append('%s signed %s but is not a CA certificate' % (
                describe_name(issuer.subject), describe_name(current.subject)))
            return problems
        current = issuer
        if certificate_fingerprint(current) in roots:
            break
    else:
        problems.append('the chain of %s is longer than 8 certificates' % describe_name(cert.subject))
        return problems
    for member in (cert, current):
        if not_after(member) <= now:
            problems.append('%s expired on %s' % (describe_name(member.subject), not_after(member).isoformat()))
        elif not_before(member) > now:
            problems.append('%s is not valid before %s' % (describe_name(member.subject),
                                                           not_before(member).isoformat()))
    return problems


def describe_name(name):
    """A short human form of an x509.Name ('CN=app1,O=Example')."""
    return name.rfc4514_string()


def days_left(cert, now=None):
    now = now or utcnow()
    return int((not_after(cert) - now).total_seconds() // 86400)


def certificate_info(cert, now=None):
    """Public facts about a certificate, JSON-friendly."""
    now = now or utcnow()
    dns, ips = sans_of(cert)
    return {
        'subject': describe_name(cert.subject),
        'issuer': describe_name(cert.issuer),
        'serial_number': '%x' % cert.serial_number,
        'not_before': not_before(cert).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'not_after': not_after(cert).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'days_left': days_left(cert, now),
        'expired': not_after(cert) <= now,
        'dns_names': dns,
        'ip_addresses': ips,
        'profile': profile_of(cert),
        'is_ca': is_ca(cert),
        'key_type': key_type_of(cert.public_key()),
        'fingerprint_sha256': certificate_fingerprint(cert),
        'public_key_fingerprint': public_key_fingerprint(cert.public_key()),
    }


def certificate_facts(cert, issuer=None):
    """What the renewal decision (module_utils/renewal.py) reads of ``cert``, JSON-friendly.

    ``issuer_sha256`` is the fingerprint of ``issuer`` when its key verifies ``cert``'s
    signature, else None: it is never taken from names or key identifiers alone.
    """
    dns, ips = sans_of(cert)
    return dict(subject=describe_name(cert.subject), dns_names=dns, ip_addresses=ips, profile=profile_of(cert),
                not_after=not_after(cert).strftime('%Y-%m-%dT%H:%M:%SZ'),
                public_key_sha256=public_key_fingerprint(cert.public_key()),
                issuer_sha256=certificate_fingerprint(issuer) if issuer is not None and is_signed_by(cert, issuer)
                else None)


def reissue_reasons(existing, want, ca_cert, profile, renew_before_days, now=None):
    """Why ``existing`` can not stay in place of the certificate ``want`` describes (renewal.renewal_reasons).

    ``want`` is a Grant plus the public key, given as ``(grant, public_key)``, or a CSR (whose
    subject and SANs are then what is wanted). An empty list means the certificate is still good.
    """
    if isinstance(want, tuple):
        grant, public_key = want
        subject, (dns, ips) = grant.subject, (grant.dns, grant.ips)
    else:
        public_key, subject, (dns, ips) = want.public_key(), want.subject, sans_of(want)
    facts = certificate_facts(existing, ca_cert) if existing is not None else None
    return renewal.renewal_reasons(facts, dict(subject=describe_name(subject), dns_names=dns, ip_addresses=ips,
                                               profile=profile),
                                   now or utcnow(), renew_before_days, certificate_fingerprint(ca_cert),
                                   public_key_fingerprint(public_key))


def covers_name(cert_or_sans, name):
    """True if a certificate (or (dns, ips) tuple) is valid for host ``name``.

    Follows RFC 6125: an IP must be an IP SAN, a wildcard covers one label.
    """
    dns, ips = cert_or_sans if isinstance(cert_or_sans, tuple) else sans_of(cert_or_sans)
    name = name.strip().lower().rstrip('.')
    try:
        return str(ipaddress.ip_address(name)) in ips
    except ValueError:
        pass
    for pattern in dns:
        if pattern == name:
            return True
        if pattern.startswith('*.') and '.' in name and name.split('.', 1)[1] == pattern[2:]:
            return True
    return False


def check_certificate(cert, key=None, trust_roots=None, chain=None, required_names=None, profile=None,
                      min_days_left=0, now=None):
    """Everything that must hold before a certificate is installed; return the problems found.

    ``key``: the private key that will be used with it; ``trust_roots``: the
    bundle peers verify it with; ``required_names``: names clients will
    connect to; ``profile``: usages it must carry.
    """
    now = now or utcnow()
    problems = []
    name = describe_name(cert.subject)
    if is_ca(cert):
        problems.append('%s is a CA certificate, not a server or client certificate' % name)
    if key is not None and not key_matches_certificate(key, cert):
        problems.append('the private key does not belong to the certificate %s (public key %s vs %s): install the '
                        'key the certificate was issued for' % (
                            name, public_key_fingerprint(key)[:16], public_key_fingerprint(cert.public_key())[:16]))
    if trust_roots:
        problems.extend(verify_chain(cert, trust_roots, chain or [], now))
    elif not_after(cert) <= now:
        problems.append('%s expired on %s' % (name, not_after(cert).strftime('%Y-%m-%d')))
    if min_days_left and not_after(cert) > now and days_left(cert, now) < min_days_left:
        problems.append('%s expires in %d days, fewer than the %d required: renew it' % (
            name, days_left(cert, now), min_days_left))
    missing = [host for host in (required_names or []) if not covers_name(cert, host)]
    if missing:
        dns, ips = sans_of(cert)
        problems.append('the subjectAltNames of %s (%s) do not cover %s: reissue it with these names' % (
            name, ', '.join(dns + ips) or 'none', ', '.join(missing)))
    # A certificate without extendedKeyUsage may be used for anything (RFC 5280).
    if profile and _extension_value(cert, x509.ExtendedKeyUsage) is not None:
        have = profile_of(cert)
        needed = set(['server', 'client']) if profile == 'both' else set([profile])
        granted = set(['server', 'client']) if have == 'both' else set([have]) if have else set()
        if not needed <= granted:
            problems.append('%s has extended key usage %s but %s is needed' % (
                name, have or 'none', {'server': 'serverAuth', 'client': 'clientAuth',
                                       'both': 'serverAuth and clientAuth'}[profile]))
    return problems
