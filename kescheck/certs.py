"""X.509 facts judged the way Go's crypto/tls and crypto/x509 (MinIO, KES) judge them.

Host names: SANs only (the CN is ignored), `*` only as the whole left-most label matching
exactly one label, IP literals only against IP SANs. Chains: an issuer must carry CA:TRUE
(or be a trusted v1 certificate) and keyCertSign when it has a key usage, and hold to its path
length and name constraints and, with its extended key usage, to the usage the chain is built
for; a certificate that is itself in the trust set is trusted as it is.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
MAX_CHAIN_DEPTH = 8


def _x509():
    from cryptography import x509

    return x509


def subject_text(certificate) -> str:
    try:
        return certificate.subject.rfc4514_string() or "(empty subject)"
    except ValueError:
        return "(unreadable subject)"


def issuer_text(certificate) -> str:
    try:
        return certificate.issuer.rfc4514_string() or "(empty issuer)"
    except ValueError:
        return "(unreadable issuer)"


def der_of(certificate) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return certificate.public_bytes(serialization.Encoding.DER)


def fingerprint_sha256(certificate) -> str:
    """What `openssl x509 -fingerprint -sha256` prints (without colons, lower case): NOT a KES identity."""
    import hashlib  # only with a certificate to hash: loading OpenSSL's hashes is ~3 ms of start-up otherwise

    return hashlib.sha256(der_of(certificate)).hexdigest()


@dataclass(frozen=True)
class SubjectNames:
    dns: tuple[str, ...]
    ips: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.dns or self.ips)

    def describe(self) -> str:
        parts = [f"DNS:{d}" for d in self.dns] + [f"IP:{i}" for i in self.ips]
        return ", ".join(parts) if parts else "no DNS or IP names"


def subject_names(certificate) -> SubjectNames:
    x509 = _x509()
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return SubjectNames((), ())
    return SubjectNames(tuple(san.get_values_for_type(x509.DNSName)),
                        tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress)))


def _ip(text: str):
    """The address, an IPv4-mapped IPv6 one (`::ffff:10.0.0.5`) as its IPv4 address: Go's net.IP.Equal takes the two
    for one address when it matches an endpoint against IP SANs."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


def _dns_matches(pattern: str, host: str) -> bool:
    """Go's matching of a DNS SAN: case-insensitive, one leading `*` label; the host's trailing dot is dropped, the
    pattern's is not (Go takes `kes.example.net.` in a certificate for an invalid name that no host matches)."""
    pattern, host = pattern.lower(), host.lower().rstrip(".")
    if not pattern or not host:
        return False
    if pattern == host:
        return True
    pattern_labels, host_labels = pattern.split("."), host.split(".")
    if len(pattern_labels) != len(host_labels) or pattern_labels[0] != "*" or len(pattern_labels) < 2:
        return False
    return bool(host_labels[0]) and pattern_labels[1:] == host_labels[1:]


def host_covered(host: str, names: SubjectNames) -> bool:
    address = _ip(host)
    if address is not None:
        return any(_ip(ip) == address for ip in names.ips)
    return any(_dns_matches(pattern, host) for pattern in names.dns)


def is_loopback_host(host: str) -> bool:
    address = _ip(host)
    if address is not None:
        return address.is_loopback
    host = host.lower().rstrip(".")
    return host in LOOPBACK_NAMES or host.endswith(".localhost")


def loopback_only(names: SubjectNames) -> bool:
    return bool(names) and all(is_loopback_host(n) for n in names.dns + names.ips)


def valid_from(certificate) -> dt.datetime:
    return certificate.not_valid_before_utc


def valid_until(certificate) -> dt.datetime:
    return certificate.not_valid_after_utc


def lifetime_days(certificate) -> float:
    return (valid_until(certificate) - valid_from(certificate)).total_seconds() / 86400


def signed_by(certificate, issuer) -> bool:
    """The issuer's name and key match `certificate`'s issuer name and signature."""
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

    try:
        certificate.verify_directly_issued_by(issuer)
        return True
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False


def is_self_signed(certificate) -> bool:
    return signed_by(certificate, certificate)


def _basic_constraints(certificate):
    """The BasicConstraints extension's value; None when the certificate has none; ValueError when it cannot be read."""
    x509 = _x509()
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


def can_sign_certificates(certificate) -> bool:
    """Go's rule for a parent's signature: CA:TRUE (or a v1 certificate), and keyCertSign when a key usage exists."""
    x509 = _x509()
    try:
        constraints = _basic_constraints(certificate)
    except ValueError:
        return False
    ca = constraints.ca if constraints is not None else certificate.version is x509.Version.v1
    if not ca:
        return False
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        return usage.key_cert_sign
    except x509.ExtensionNotFound:
        return True
    except ValueError:
        return False


@dataclass(frozen=True)
class ChainResult:
    trusted: bool
    reason: str = ""
    """Why not, in one clause."""
    go_error: str = "certificate signed by unknown authority"
    """What Go's verification says (after `x509: `)."""


@dataclass(frozen=True)
class _Refusal:
    reason: str
    go_error: str


MAX_CHAIN_STEPS = 100
"""Certificates the chain search steps through at most (Go gives up after 100 signature checks)."""


def chain_to(leaf, intermediates: list, anchors: list, usage: str | None = None) -> ChainResult:
    """Whether `leaf` chains to one of `anchors`, through `intermediates` (the rest of its file), for the extended
    key usage `usage` (`serverAuth`, `clientAuth`; the leaf's own is the caller's to judge). Every candidate parent
    is tried, as Go's chain building tries them (a cross-signed copy of an intermediate whose root is not trusted
    does not hide the copy the trusted root signed), and a parent is taken as Go takes it: an intermediate must say
    CA:TRUE (a v1 certificate can only be a trusted one), a path length constraint counts the intermediates below,
    name constraints bind the leaf's names, every CA of the chain must allow `usage` when it limits its extended key
    usage, and no certificate may carry a critical extension Go does not handle. The reason names the first place
    the search got stuck."""
    unhandled = _unhandled_critical(leaf)  # Go judges the leaf before it looks for a chain, pinned or not
    if unhandled is not None:
        return ChainResult(False, f"'{subject_text(leaf)}' has {unhandled}, which Go refuses", _UNHANDLED)
    anchor_ders = {der_of(a) for a in anchors}
    if der_of(leaf) in anchor_ders:
        return ChainResult(True)
    # Go's two pools, each holding a certificate once; a served certificate that is trusted too is in both.
    roots = list({der_of(a): a for a in anchors}.values())
    others = list({der_of(c): c for c in intermediates}.values())
    seen = {"same name": False, "cannot sign": False, "steps": 0}
    stuck: list = []
    wrong_usage: list[_Refusal] = []

    def build(current, path: tuple, visited: frozenset) -> tuple[bool, bool, _Refusal | None]:
        """Go's buildChains from `current`: (a chain of the right usage found, a chain of any usage built, the
        refusal Go's search is left with here: that of the last parent it turned down, None for none)."""
        seen["steps"] += 1  # cross-signed copies could make the paths countless: bounded, as Go bounds its search
        built, error = False, None
        if len(path) < MAX_CHAIN_DEPTH and seen["steps"] <= MAX_CHAIN_STEPS:
            for candidate, anchor in [(c, True) for c in _in_go_order(roots, current)] + \
                    [(c, False) for c in _in_go_order(others, current)]:
                der = der_of(candidate)
                if der in visited:
                    continue
                seen["same name"] = True
                if not signed_by(current, candidate):
                    continue
                if not can_sign_certificates(candidate):
                    seen["cannot sign"] = True
                    continue
                refusal = _refusal_as_parent(candidate, anchor, len(path), leaf)
                if refusal is not None:
                    error = refusal
                    continue
                if anchor:
                    refusal = _usage_refusal(path + (candidate,), usage)
                    if refusal is None:
                        return True, True, None
                    wrong_usage.append(refusal)  # Go builds the chain, and turns it down for its usage at the end
                    built = True
                    continue
                trusted, built_below, error = build(candidate, path + (candidate,), visited | {der})
                if trusted:
                    return True, True, None
                built = built or built_below
        if not stuck:
            stuck.append(current)
        return False, built, None if built else error

    trusted, _, error = build(leaf, (), frozenset({der_of(leaf)}))
    if trusted:
        return ChainResult(True)
    if wrong_usage:
        return ChainResult(False, wrong_usage[0].reason, wrong_usage[0].go_error)
    if error is not None:
        return ChainResult(False, error.reason, error.go_error)
    current = stuck[0]
    weak = weak_signature_hash(current)
    if weak:
        return ChainResult(False, f"'{subject_text(current)}' is signed with {weak}, which Go refuses to verify")
    if seen["cannot sign"]:
        return ChainResult(False, f"the certificate named '{issuer_text(current)}' signed it but may not sign "
                                  "certificates (no CA:TRUE or no keyCertSign key usage)")
    if seen["same name"]:
        return ChainResult(False, f"a certificate named '{issuer_text(current)}' is there, but its key did not "
                                  "sign this certificate (a stale copy from before the certificate was re-issued?)")
    return ChainResult(False, f"no certificate there issued it (its issuer is '{issuer_text(current)}')")


def _in_go_order(pool: list, child) -> list:
    """The certificates of `pool` named as `child`'s issuer, in the order Go tries them: those whose subject key
    identifier is the child's authority key identifier (both absent counts), then those where only one of the two is
    there, then the others; in pool order within each."""
    x509 = _x509()

    def key_identifier(certificate, extension, attribute):
        try:
            return getattr(certificate.extensions.get_extension_for_class(extension).value, attribute)
        except (x509.ExtensionNotFound, ValueError):
            return None

    wanted = key_identifier(child, x509.AuthorityKeyIdentifier, "key_identifier")

    def plausibility(candidate) -> int:
        own = key_identifier(candidate, x509.SubjectKeyIdentifier, "digest")
        return 0 if own == wanted else 1 if (own is None) != (wanted is None) else 2

    return sorted((c for c in pool if c.subject == child.issuer), key=plausibility)


_INCOMPATIBLE_USAGE = "certificate specifies an incompatible key usage"
_UNHANDLED = "unhandled critical extension"

_GO_HANDLED_EXTENSIONS = frozenset({
    "2.5.29.14", "2.5.29.15", "2.5.29.17", "2.5.29.19",  # key id, key usage, alternative names, basic constraints
    "2.5.29.30", "2.5.29.31", "2.5.29.32", "2.5.29.35",  # name constraints, CRL points, policies, authority key id
    "2.5.29.37", "1.3.6.1.5.5.7.1.1",  # extended key usage, authority information access
    # Policy mappings, policy constraints and inhibitAnyPolicy: newer Go handles them, Go 1.19 refused them when
    # critical; which Go a release is built with is not known here, so they are not judged.
    "2.5.29.33", "2.5.29.36", "2.5.29.54",
})


def _unhandled_critical(certificate) -> str | None:
    """A critical extension that Go's certificate parser does not handle, which makes Go refuse the certificate in
    any chain (`x509: unhandled critical extension`): one it does not know, name constraints of a kind it does not
    support (a directory name: CA/Browser Forum "technically constrained" CAs, some step-ca setups), or subject
    alternative names of which it reads none."""
    x509 = _x509()
    try:
        extensions = list(certificate.extensions)
    except ValueError:
        return None  # extensions cryptography cannot read: not judged
    readable = (x509.DNSName, x509.IPAddress, x509.RFC822Name, x509.UniformResourceIdentifier)
    for extension in extensions:
        if not extension.critical:
            continue
        oid = extension.oid.dotted_string
        if oid not in _GO_HANDLED_EXTENSIONS:
            return f"the critical extension {oid}"
        value = extension.value
        if isinstance(value, x509.NameConstraints):
            subtrees = (*(value.permitted_subtrees or ()), *(value.excluded_subtrees or ()))
            kinds = [type(name).__name__ for name in subtrees if not isinstance(name, readable)]
            if kinds:
                return f"critical name constraints on a kind of name Go does not support ({kinds[0]})"
        if isinstance(value, x509.SubjectAlternativeName) and not any(isinstance(name, readable) for name in value):
            return "a critical subject alternative name extension without a DNS, IP, email or URI name"
    return None


def _refusal_as_parent(candidate, trusted: bool, intermediates_below: int, leaf) -> _Refusal | None:
    """Why Go does not take `candidate`, whose signature it accepted, as the next certificate of a chain that holds
    `intermediates_below` intermediates under it; None when it does. Go judges in this order, and names the first."""
    unhandled = _unhandled_critical(candidate)
    if unhandled is not None:
        return _Refusal(f"'{subject_text(candidate)}' has {unhandled}, which Go refuses", _UNHANDLED)
    named = _name_constraint_refusal(candidate, leaf)
    if named is not None:
        return named
    constraints = _basic_constraints(candidate)
    if not trusted and (constraints is None or not constraints.ca):
        return _Refusal(f"'{subject_text(candidate)}' is a version 1 certificate, which Go accepts as a trusted CA "
                        "but not as an intermediate", "certificate is not authorized to sign other certificates")
    if constraints is not None and constraints.path_length is not None \
            and intermediates_below > constraints.path_length:
        return _Refusal(f"'{subject_text(candidate)}' allows {constraints.path_length} intermediate certificate(s) "
                        f"below it (pathlen:{constraints.path_length}) and the chain has {intermediates_below}",
                        "too many intermediates for path length constraint")
    return None


def _name_constraint_refusal(ca, leaf) -> _Refusal | None:
    """Go holds the DNS, IP, email and URI names of the leaf and of the CA itself to the CA's name constraints: an
    excluded name, or a name outside the permitted names of its kind, refuses the CA, and so does a name Go cannot
    read there (a DNS name with an empty label, an email address without `@`, a URI without a host name)."""
    x509 = _x509()
    try:
        constraints = ca.extensions.get_extension_for_class(x509.NameConstraints).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    permitted = list(constraints.permitted_subtrees or ())
    excluded = list(constraints.excluded_subtrees or ())
    for holder in (leaf, ca):
        try:
            san = holder.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except (x509.ExtensionNotFound, ValueError):
            continue
        for kind, match in ((x509.DNSName, _within_domain), (x509.IPAddress, _within_network),
                            (x509.RFC822Name, _within_mailbox), (x509.UniformResourceIdentifier, _within_uri)):
            for name in san.get_values_for_type(kind):
                unreadable = _unreadable_name(kind, name)
                if unreadable is not None:
                    return _Refusal(f"'{subject_text(ca)}' is name-constrained, and Go cannot read {unreadable[0]} "
                                    "under name constraints", unreadable[1])
                problem = _constraint_problem(name, [c.value for c in excluded if isinstance(c, kind)],
                                              [c.value for c in permitted if isinstance(c, kind)], match)
                if problem is not None:
                    return _Refusal(f"'{subject_text(ca)}' is name-constrained and {problem}",
                                    "a root or intermediate certificate is not authorized to sign for this name")
    return None


def _constraint_problem(name, excluded: list, permitted: list, match) -> str | None:
    label = f"'{name}'"
    try:
        hit = next((constraint for constraint in excluded if match(name, constraint)), None)
        if hit is not None:
            return f"excludes {label} ({hit})"
        if permitted and not any(match(name, constraint) for constraint in permitted):
            return f"does not permit {label} (it permits {', '.join(str(c) for c in permitted)})"
    except ValueError:
        return f"Go cannot match {label} against its constraints"
    return None


def _reverse_labels(name: str) -> list[str] | None:
    """A DNS name's labels, last first, as Go reads them for name constraints; None for a name Go refuses there
    (an empty label, a trailing dot, a character outside printable ASCII)."""
    if not name:
        return []
    labels = name.split(".")[::-1]
    if any(not label or any(not 33 <= ord(c) <= 126 for c in label) for label in labels):
        return None
    return labels


def _within_domain(name: str, constraint: str) -> bool:
    """Go's DNS name constraint: the constraint's labels end the name (case-insensitively); a leading `.` asks for
    at least one more label; an empty constraint matches every name."""
    if not constraint:
        return True
    subdomains_only = constraint.startswith(".")
    constraint_labels = _reverse_labels(constraint[1:] if subdomains_only else constraint)
    if constraint_labels is None:
        raise ValueError(constraint)
    labels = _reverse_labels(name) or []
    if len(labels) < len(constraint_labels) or (subdomains_only and len(labels) == len(constraint_labels)):
        return False
    return all(a.lower() == b.lower() for a, b in zip(constraint_labels, labels))


def _unreadable_name(kind, name: str) -> tuple[str, str] | None:
    """(the name described, Go's error) for a DNS name or email address Go cannot read under name constraints."""
    x509 = _x509()
    if kind is x509.DNSName and _reverse_labels(name) is None:
        return f"the DNS name '{name}' (an empty label, a trailing dot)", f'cannot parse dnsName "{name}"'
    if kind is x509.RFC822Name and not all(name.rpartition("@")[::2]):
        return f"the email address '{name}'", "cannot parse rfc822Name"
    return None


def _within_mailbox(address: str, constraint: str) -> bool:
    """Go's email constraint: with an `@` one mailbox (the domain in any case), else a domain constraint on the
    address's domain."""
    local, _, domain = address.rpartition("@")
    if "@" in constraint:
        constraint_local, _, constraint_domain = constraint.rpartition("@")
        return local == constraint_local and domain.lower() == constraint_domain.lower()
    return _within_domain(domain, constraint)


def _within_uri(uri: str, constraint: str) -> bool:
    """Go's URI constraint: a domain constraint on the URI's host name; a URI without one, or with an IP address for
    a host, cannot be matched (ValueError)."""
    from urllib.parse import urlsplit

    host = urlsplit(uri).netloc.rpartition("@")[2]
    if ":" in host and not host.endswith("]"):
        host = host.rpartition(":")[0]
    if not host or host.startswith("[") or _ip(host) is not None:
        raise ValueError(uri)
    return _within_domain(host, constraint)


def _within_network(address, network) -> bool:
    return address.version == network.version and address in network


def _usage_refusal(chain: tuple, usage: str | None) -> _Refusal | None:
    """Go's check of the extended key usage along a chain: a CA that lists usages must list `usage` (or any)."""
    if usage is None:
        return None
    for ca in chain:
        if not allows_usage(ca, usage):
            usages = ", ".join(sorted(extended_key_usages(ca) or ())) or "none Go can read"
            return _Refusal(f"'{subject_text(ca)}' limits the extended key usage of what it issues to {usages}, "
                            f"without {usage}", _INCOMPATIBLE_USAGE)
    return None


def extended_key_usages(certificate) -> set[str] | None:
    """`serverAuth`/`clientAuth`/`any`/dotted OIDs, or None when the certificate has no EKU extension."""
    x509 = _x509()
    from cryptography.x509.oid import ExtendedKeyUsageOID

    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None
    except ValueError:
        return set()
    names = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth", ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
             ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "any"}
    return {names.get(oid, oid.dotted_string) for oid in usage}


def allows_usage(certificate, usage: str) -> bool:
    usages = extended_key_usages(certificate)
    return usages is None or usage in usages or "any" in usages


def key_weakness(public_key) -> str | None:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < 2048:
        return f"an RSA key of {public_key.key_size} bits (at least 2048 are needed)"
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.key_size < 256:
        return f"an EC key on {public_key.curve.name} (at least P-256 is needed)"
    if _is_dsa(public_key, dsa):
        return "a DSA key (Go's TLS stack does not support DSA)"
    return None


_GO_CURVES = ("secp224r1", "secp256r1", "secp384r1", "secp521r1")


def unsupported_by_go(public_key) -> str | None:
    """The key of a certificate that Go's TLS stack (KES, MinIO) cannot load as a key pair, in words; None when it
    can (RSA, ECDSA on the NIST curves, Ed25519)."""
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, x448, x25519

    if _is_dsa(public_key, dsa):
        return "a DSA key"
    if isinstance(public_key, ed448.Ed448PublicKey):
        return "an Ed448 key"
    if isinstance(public_key, (x25519.X25519PublicKey, x448.X448PublicKey)):
        return "a key-agreement key that cannot sign"
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name not in _GO_CURVES:
        return f"an EC key on {public_key.curve.name} (Go knows P-224, P-256, P-384 and P-521)"
    return None


def _is_dsa(public_key, dsa) -> bool:
    """cryptography 51 warns on every use of its DSA types, and a report must not begin with that warning."""
    import warnings

    from cryptography.utils import CryptographyDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return isinstance(public_key, dsa.DSAPublicKey)


def weak_signature_hash(certificate) -> str | None:
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        algorithm = certificate.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return None
    if algorithm is not None and algorithm.name in ("sha1", "md5"):
        return algorithm.name.upper().replace("SHA1", "SHA-1")
    return None
