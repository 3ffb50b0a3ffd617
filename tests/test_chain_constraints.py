"""Chains as Go's crypto/x509 builds them: an intermediate must say CA:TRUE, path length and name constraints bind
what a CA issues, and a CA that lists extended key usages must list the one the chain is built for. The rules and
their order follow Go's x509.Verify, which a test below runs side by side with chain_to where Go is installed."""
from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from certgen import Issued, issue, version_1
from kescheck.certs import chain_to
from kescheck.engine import lint
from kescheck.identity import identity_of_certificate
from tests.test_cert_deployments import build, errors, single_error, x509_reissued


def test_a_root_with_pathlen_zero_refuses_an_intermediate_between_it_and_the_leaf():
    root = issue("Root", ca=True, path_length=0)
    intermediate = issue("Issuing CA", ca=True, issuer=root)
    leaf = issue("kes", issuer=intermediate, dns=("kes.example.net",))
    result = chain_to(leaf.certificate, [intermediate.certificate], [root.certificate], "serverAuth")
    assert not result.trusted
    assert result.go_error == "too many intermediates for path length constraint"
    assert "'CN=Root' allows 0 intermediate certificate(s) below it (pathlen:0) and the chain has 1" in result.reason
    assert chain_to(issue("kes", issuer=root).certificate, [], [root.certificate]).trusted  # no intermediate


@pytest.mark.parametrize("root_length, intermediate_length, trusted", [
    (1, None, True), (1, 0, True), (None, 0, True), (2, 1, True), (0, 0, False), (1, 1, True)])
def test_path_length_counts_the_intermediates_below_each_ca(root_length, intermediate_length, trusted):
    root = issue("Root", ca=True, path_length=root_length)
    intermediate = issue("Issuing CA", ca=True, issuer=root, path_length=intermediate_length)
    leaf = issue("kes", issuer=intermediate)
    assert chain_to(leaf.certificate, [intermediate.certificate], [root.certificate]).trusted is trusted


def test_an_intermediate_with_pathlen_zero_may_not_sign_another_ca_below_it():
    root = issue("Root", ca=True)
    policy_ca = issue("Policy CA", ca=True, issuer=root, path_length=0)
    issuing = issue("Issuing CA", ca=True, issuer=policy_ca)
    leaf = issue("kes", issuer=issuing)
    result = chain_to(leaf.certificate, [issuing.certificate, policy_ca.certificate], [root.certificate])
    assert not result.trusted and "'CN=Policy CA' allows 0" in result.reason and "has 1" in result.reason


def test_another_path_that_keeps_the_path_length_is_taken():
    """Go builds every chain: a copy of the issuing CA that the root signed itself verifies the leaf in one step
    fewer than the path through the policy CA."""
    root = issue("Root", ca=True, path_length=1)
    policy_ca = issue("Policy CA", ca=True, issuer=root)
    issuing = issue("Issuing CA", ca=True, issuer=policy_ca)
    issuing_by_root = Issued(x509_reissued(issuing, root), issuing.key)
    leaf = issue("kes", issuer=issuing)
    long_way = chain_to(leaf.certificate, [issuing.certificate, policy_ca.certificate], [root.certificate])
    assert not long_way.trusted and "the chain has 2" in long_way.reason
    assert chain_to(leaf.certificate, [issuing.certificate, policy_ca.certificate, issuing_by_root.certificate],
                    [root.certificate]).trusted


@pytest.mark.parametrize("permitted, excluded, dns, ips, trusted", [
    (("DNS:example.net",), (), ("kes.example.net",), (), True),
    (("DNS:example.net",), (), ("example.net",), (), True),
    (("DNS:.example.net",), (), ("example.net",), (), False),  # a leading dot asks for one more label
    (("DNS:.example.net",), (), ("kes.example.net",), (), True),
    (("DNS:example.net",), (), ("kes.example.org",), (), False),
    (("DNS:example.net",), (), ("kes.badexample.net",), (), False),  # labels, not text
    (("DNS:EXAMPLE.net",), (), ("Kes.Example.NET",), (), True),
    (("DNS:example.net",), (), ("kes.example.net", "kes.example.org"), (), False),  # every name counts
    ((), ("DNS:kes.example.net",), ("kes.example.net",), (), False),
    ((), ("DNS:example.org",), ("kes.example.net",), (), True),
    (("DNS:example.net",), (), (), ("10.0.0.5",), True),  # no IP constraint: IP names are free
    (("IP:10.0.0.0/8",), (), ("kes.example.net",), ("10.0.0.5",), True),
    (("IP:10.0.0.0/8",), (), (), ("192.168.1.5",), False),
    (("IP:10.0.0.0/8",), (), (), ("::1",), False),  # an IPv6 name is outside every IPv4 range
    ((), ("IP:10.0.0.0/24",), (), ("10.0.0.5",), False),
])
def test_name_constraints_bind_the_leaf_names(permitted, excluded, dns, ips, trusted):
    root = issue("Root", ca=True)
    intermediate = issue("Constrained CA", ca=True, issuer=root, permitted=permitted, excluded=excluded)
    leaf = issue("kes", issuer=intermediate, dns=dns, ips=ips)
    result = chain_to(leaf.certificate, [intermediate.certificate], [root.certificate], "serverAuth")
    assert result.trusted is trusted
    if not trusted:
        assert "'CN=Constrained CA' is name-constrained" in result.reason
        assert result.go_error == "a root or intermediate certificate is not authorized to sign for this name"


def test_a_name_go_cannot_read_under_name_constraints_refuses_the_chain():
    root = issue("Root", ca=True)
    intermediate = issue("Constrained CA", ca=True, issuer=root, permitted=("DNS:example.net",))
    leaf = issue("kes", issuer=intermediate, dns=("kes.example.net.",))
    result = chain_to(leaf.certificate, [intermediate.certificate], [root.certificate], "serverAuth")
    assert not result.trusted and result.go_error == 'cannot parse dnsName "kes.example.net."'
    assert "Go cannot read the DNS name 'kes.example.net.'" in result.reason


def test_a_ca_breaking_its_name_constraints_and_its_path_length_is_refused_for_the_names_first():
    root = issue("Root", ca=True, path_length=0, permitted=("DNS:example.org",))
    intermediate = issue("Issuing CA", ca=True, issuer=root)
    leaf = issue("kes", issuer=intermediate, dns=("kes.example.net",))
    result = chain_to(leaf.certificate, [intermediate.certificate], [root.certificate])
    assert result.go_error == "a root or intermediate certificate is not authorized to sign for this name"


@pytest.mark.parametrize("permitted, name, trusted", [
    ("URI:example.net", "URI:spiffe://example.net/kes", True),
    ("URI:example.net", "URI:spiffe://other.org/kes", False),
    ("URI:.example.net", "URI:https://kes.example.net:7373/", True),
    ("URI:example.net", "URI:spiffe://10.0.0.1/kes", False),  # an IP address for a host cannot be matched
    ("URI:example.net", "URI:urn:kes", False),  # nor a URI without a host
    ("email:example.net", "email:kes@example.net", True),
    ("email:ops@example.net", "email:kes@example.net", False),
    ("email:example.net", "email:kes@example.org", False),
    ("DNS:example.net", "URI:spiffe://other.org/kes", True),  # constraints bind names of their own kind only
])
def test_uri_and_email_names_are_held_to_constraints_of_their_kind(permitted, name, trusted):
    root = issue("Root", ca=True)
    intermediate = issue("Constrained CA", ca=True, issuer=root, permitted=(permitted,))
    leaf = issue("kes", issuer=intermediate, other_names=(name,))
    result = chain_to(leaf.certificate, [intermediate.certificate], [root.certificate], "serverAuth")
    assert result.trusted is trusted
    if not trusted:
        assert result.go_error == "a root or intermediate certificate is not authorized to sign for this name"


def test_a_uri_without_a_host_name_cannot_be_matched_even_against_an_exclusion():
    root = issue("Root", ca=True, excluded=("URI:example.org",))
    for uri, trusted in (("URI:spiffe://10.0.0.1/kes", False), ("URI:urn:kes", False),
                         ("URI:spiffe://example.net/kes", True)):
        leaf = issue("kes", issuer=root, other_names=(uri,))
        assert chain_to(leaf.certificate, [], [root.certificate]).trusted is trusted, uri


def test_an_email_address_go_cannot_read_under_name_constraints():
    root = issue("Root", ca=True, permitted=("DNS:example.net",))
    leaf = issue("kes", issuer=root, dns=("kes.example.net",), other_names=("email:kes",))
    result = chain_to(leaf.certificate, [], [root.certificate])
    assert not result.trusted and result.go_error == "cannot parse rfc822Name"
    assert "cannot read the email address 'kes'" in result.reason


@pytest.mark.parametrize("where", ["leaf", "intermediate", "root"])
def test_a_critical_extension_go_does_not_handle_refuses_the_chain(where):
    root = issue("Root", ca=True, critical_oid="1.2.3.5" if where == "root" else None)
    intermediate = issue("Issuing CA", ca=True, issuer=root, critical_oid="1.2.3.5" if where == "intermediate" else None)
    leaf = issue("kes", issuer=intermediate, critical_oid="1.2.3.5" if where == "leaf" else None)
    result = chain_to(leaf.certificate, [intermediate.certificate], [root.certificate], "serverAuth")
    assert not result.trusted and result.go_error == "unhandled critical extension"
    assert "has the critical extension 1.2.3.5, which Go refuses" in result.reason


def test_a_pinned_certificate_with_a_critical_extension_go_does_not_handle_is_refused_too():
    pinned = issue("kes", critical_oid="1.2.3.5")
    result = chain_to(pinned.certificate, [], [pinned.certificate], "serverAuth")
    assert not result.trusted and result.go_error == "unhandled critical extension"
    assert chain_to(issue("kes").certificate, [], [], "serverAuth").trusted is False


def test_critical_name_constraints_on_directory_names_are_unhandled_for_go():
    """CA/Browser Forum "technically constrained" CAs add a directoryName: Go refuses them (cabforum/servercert#267)."""
    root = issue("Root", ca=True)
    intermediate = issue("Constrained CA", ca=True, issuer=root, permitted=("DNS:example.net", "DirName:O=Example"))
    leaf = issue("kes", issuer=intermediate, dns=("kes.example.net",))
    result = chain_to(leaf.certificate, [intermediate.certificate], [root.certificate], "serverAuth")
    assert not result.trusted and result.go_error == "unhandled critical extension"
    assert "critical name constraints on a kind of name Go does not support (DirectoryName)" in result.reason
    plain = issue("Constrained CA", ca=True, issuer=root, permitted=("DNS:example.net",))
    leaf = issue("kes", issuer=plain, dns=("kes.example.net",))
    assert chain_to(leaf.certificate, [plain.certificate], [root.certificate], "serverAuth").trusted


def test_a_constrained_root_binds_the_leaf_too():
    root = issue("Root", ca=True, permitted=("DNS:corp.example",))
    leaf = issue("kes", issuer=root, dns=("kes.example.net",))
    result = chain_to(leaf.certificate, [], [root.certificate])
    assert not result.trusted and "does not permit 'kes.example.net' (it permits corp.example)" in result.reason


@pytest.mark.parametrize("root_eku, intermediate_eku, usage, trusted", [
    (None, ("client",), "serverAuth", False),
    (None, ("client",), "clientAuth", True),
    (("client",), None, "serverAuth", False),  # the root's own list counts too
    (None, ("server", "client"), "serverAuth", True),
    (None, ("any",), "serverAuth", True),
    (None, ("client",), None, True),  # no usage asked for: not judged
])
def test_a_ca_that_lists_extended_key_usages_must_list_the_chains_usage(root_eku, intermediate_eku, usage, trusted):
    root = issue("Root", ca=True, eku=root_eku)
    intermediate = issue("Issuing CA", ca=True, issuer=root, eku=intermediate_eku)
    leaf = issue("kes", issuer=intermediate)
    result = chain_to(leaf.certificate, [intermediate.certificate], [root.certificate], usage)
    assert result.trusted is trusted
    if not trusted:
        assert result.go_error == "certificate specifies an incompatible key usage"
        assert "limits the extended key usage of what it issues to clientAuth, without serverAuth" in result.reason


def test_a_built_chain_of_the_wrong_usage_is_what_go_reports_over_a_path_it_could_not_build():
    """Go builds every chain it can and only then filters them by usage: when the one it built has the wrong usage,
    that is its error, even if another path was refused earlier for its name constraints."""
    root, other_root = issue("Root", ca=True), issue("Other Root", ca=True, excluded=("DNS:example.net",))
    intermediate = issue("Issuing CA", ca=True, issuer=root, eku=("client",))
    cross = Issued(x509_reissued(intermediate, other_root), intermediate.key)
    leaf = issue("kes", issuer=intermediate, dns=("kes.example.net",))
    result = chain_to(leaf.certificate, [cross.certificate, intermediate.certificate],
                      [other_root.certificate, root.certificate], "serverAuth")
    assert not result.trusted and result.go_error == "certificate specifies an incompatible key usage"


def test_the_error_quoted_is_the_one_go_is_left_with_after_trying_every_path():
    """Go tries the parents in order and keeps the error of the last one: here the copy of the intermediate that an
    untrusted root signed comes last and leads nowhere, so Go reports an unknown authority, not the path length
    that refused the first path."""
    root, old_root = issue("Root", ca=True, path_length=0), issue("Old Root", ca=True)
    intermediate = issue("Issuing CA", ca=True, issuer=root)
    cross = Issued(x509_reissued(intermediate, old_root), intermediate.key)
    leaf = issue("kes", issuer=intermediate)
    result = chain_to(leaf.certificate, [intermediate.certificate, cross.certificate], [root.certificate])
    assert not result.trusted and result.go_error == "certificate signed by unknown authority"
    result = chain_to(leaf.certificate, [intermediate.certificate], [root.certificate])
    assert result.go_error == "too many intermediates for path length constraint"


def test_the_leafs_own_usage_is_left_to_the_usage_rules():
    """CRT022 and CRT032 name the leaf's missing usage; the chain verdict judges only the CAs above it."""
    root = issue("Root", ca=True)
    leaf = issue("kes", issuer=root, eku=("client",))
    assert chain_to(leaf.certificate, [], [root.certificate], "serverAuth").trusted


def test_a_version_1_certificate_is_a_root_but_never_an_intermediate():
    root = version_1("Old Root")
    assert chain_to(issue("kes", issuer=root).certificate, [], [root.certificate], "serverAuth").trusted
    intermediate = version_1("Old Issuing CA", issuer=root)
    leaf = issue("kes", issuer=intermediate)
    result = chain_to(leaf.certificate, [intermediate.certificate], [root.certificate], "serverAuth")
    assert not result.trusted and "'CN=Old Issuing CA' is a version 1 certificate" in result.reason
    assert result.go_error == "certificate is not authorized to sign other certificates"
    assert chain_to(leaf.certificate, [], [intermediate.certificate]).trusted  # trusted itself, it is a root


def test_capath_refusing_an_eku_limited_intermediate_is_crt023_with_gos_words(tmp_path):
    root, layout = build(tmp_path, capath="file")
    ca = layout.made["ca"]
    intermediate = issue("Client-only CA", ca=True, issuer=ca, eku=("client",))
    server = issue("kes", issuer=intermediate, dns=("*.example.net",), eku=("server",))
    (root / "certs" / "kes-server.crt").write_bytes(server.cert_pem() + intermediate.cert_pem())
    (root / "certs" / "kes-server.key").write_bytes(server.key_pem())
    finding = single_error(lint([root]), "CRT023")
    assert "'CN=Client-only CA' limits the extended key usage of what it issues to clientAuth" in finding.message
    assert "fails with 'x509: certificate specifies an incompatible key usage'" in finding.message
    server = issue("kes", issuer=ca, dns=("*.example.net",), eku=("server",))
    (root / "certs" / "kes-server.crt").write_bytes(server.cert_pem())
    (root / "certs" / "kes-server.key").write_bytes(server.key_pem())
    assert errors(lint([root])) == []


def test_tls_ca_refusing_a_client_chain_past_its_path_length_is_crt030(tmp_path):
    root, layout = build(tmp_path)
    config = root / "kes-config.yml"
    config.write_text(config.read_text().replace('  auth: "off"', '  auth: "on"\n  ca: certs/client-root.crt'))

    def client_chain(root_ca, intermediate):
        client = issue("minio", issuer=intermediate, eku=("client",))
        (root / "certs" / "client-root.crt").write_bytes(root_ca.cert_pem())
        (root / "certs" / "minio-client.crt").write_bytes(client.cert_pem() + intermediate.cert_pem())
        (root / "certs" / "minio-client.key").write_bytes(client.key_pem())
        config.write_text(config.read_text().replace(layout.made["identity"], identity_of_certificate(client.certificate)))
        layout.made["identity"] = identity_of_certificate(client.certificate)

    strict_root = issue("Strict Root", ca=True, path_length=0)
    client_chain(strict_root, issue("MinIO Clients CA", ca=True, issuer=strict_root))
    finding = single_error(lint([root]), "CRT030")
    assert "pathlen:0" in finding.message
    assert "'x509: too many intermediates for path length constraint'" in finding.message
    client_root = issue("Client Root", ca=True)
    client_chain(client_root, issue("MinIO Clients CA", ca=True, issuer=client_root, eku=("client",)))
    assert errors(lint([root])) == []  # a CA for client certificates only is fine for them


GO = shutil.which("go")
CONSTRAINTS = ["DNS:example.net", "DNS:.example.net", "DNS:example.org", "DNS:kes.example.net", "IP:10.0.0.0/8",
               "IP:192.168.0.0/16", "IP:::/0", "URI:example.net", "URI:.example.org", "email:example.net",
               "email:ops@example.org", "DirName:O=Example Corp"]


def _random_chain(rng: random.Random):
    """Trusted roots, the intermediates served with the leaf, and the leaf: a root and 0-3 intermediates with random
    path lengths, name constraints, usages and names, now and then a version 1 CA; often a copy of an intermediate
    cross-signed by another root, trusted or not, an intermediate trusted as well, or the root served too, so that Go
    has several paths to try."""
    def ca(name, issuer):
        if rng.random() < 0.1:
            return version_1(name, issuer=issuer)
        permitted = tuple(rng.sample(CONSTRAINTS, rng.randint(1, 2))) if rng.random() < 0.3 else ()
        excluded = tuple(rng.sample(CONSTRAINTS, 1)) if rng.random() < 0.15 else ()
        return issue(name, issuer=issuer, ca=True, path_length=rng.choice([None, None, 0, 1, 2]),
                     eku=rng.choice([None, None, ("client",), ("server",), ("any",), ("server", "client")]),
                     permitted=permitted, excluded=excluded,
                     critical_oid=rng.choice(["1.2.3.5"] + [None] * 19))

    root = ca("Root", None)
    chain, parent = [], root
    for k in range(rng.choice([0, 1, 1, 2, 3])):
        parent = ca(f"CA{k}", parent)
        chain.append(parent)
    names = ["kes.example.net", "kes.example.net.", "*.example.net", "example.net", "kes.example.org",
             "a.b.example.net", "KES.Example.Net"]
    others = ["URI:spiffe://example.net/kes", "URI:https://kes.example.org:7373/", "URI:spiffe://10.0.0.1/kes",
              "URI:urn:kes", "email:kes@example.net", "email:ops@example.org", "email:kes"]
    leaf = issue("leaf", issuer=parent, dns=tuple(rng.sample(names, rng.randint(0, 2))),
                 ips=tuple(rng.sample(["10.1.2.3", "192.168.1.1", "::1"], rng.randint(0, 1))),
                 other_names=tuple(rng.sample(others, rng.choice([0, 0, 1]))),
                 eku=rng.choice([None, ("server", "client")]), critical_oid=rng.choice(["1.2.3.4"] + [None] * 29))
    roots = [root]
    crossable = [c for c in chain if c.certificate.version.name == "v3"]
    if crossable and rng.random() < 0.4:
        other = ca("Other Root", None)
        if other.certificate.version.name == "v3":
            copy = rng.choice(crossable)
            chain.insert(rng.randint(0, len(chain)), Issued(x509_reissued(copy, other), copy.key))
            if rng.random() < 0.5:
                roots.insert(rng.randint(0, 1), other)
    if chain and rng.random() < 0.2:
        roots.append(rng.choice(chain))  # an intermediate trusted too (MinIO takes any CAPATH certificate as a root)
    if rng.random() < 0.2:
        chain.append(root)  # the served chain ends with the root
    return leaf, chain, roots


@pytest.mark.skipif(GO is None, reason="Go is not installed")
def test_verdicts_and_errors_agree_with_gos_x509_verify(tmp_path):
    """Random chains, judged by chain_to and by Go's x509.Verify (tests/go_x509): the same verdict and error."""
    binary = tmp_path / "verify"
    env = dict(os.environ, GOFLAGS="-mod=mod", GOCACHE=str(tmp_path / "cache"), GOPATH=str(tmp_path / "gopath"))
    subprocess.run([GO, "build", "-o", str(binary), "."], cwd=Path(__file__).parent / "go_x509", env=env,
                   check=True, capture_output=True, timeout=300)
    rng = random.Random(int(os.environ.get("KESCHECK_GO_SEED", "20261207")))
    ours = {}
    cases = tmp_path / "cases"
    for n in range(int(os.environ.get("KESCHECK_GO_CHAINS", "120"))):
        leaf, chain, roots = _random_chain(rng)
        usage = rng.choice(["serverAuth", "clientAuth"])
        case = cases / f"{n:04d}"
        case.mkdir(parents=True)
        (case / "leaf.pem").write_bytes(leaf.cert_pem())
        (case / "inter.pem").write_bytes(b"".join(c.cert_pem() for c in chain))
        (case / "roots.pem").write_bytes(b"".join(root.cert_pem() for root in roots))
        (case / "usage").write_text(usage)
        ours[case.name] = chain_to(leaf.certificate, [c.certificate for c in chain], [r.certificate for r in roots],
                                   usage)
    answers = subprocess.run([str(binary), str(cases)], capture_output=True, text=True, check=True, timeout=120)
    gos = dict(line.split("\t", 1) for line in answers.stdout.splitlines())
    assert sorted(gos) == sorted(ours)
    differing = {name: (gos[name], ours[name]) for name in ours
                 if (gos[name] == "<nil>") != ours[name].trusted
                 or (not ours[name].trusted and f"x509: {ours[name].go_error}" not in gos[name])}
    assert differing == {}
    trusted = sum(result.trusted for result in ours.values())
    assert 0.15 < trusted / len(ours) < 0.85  # both verdicts were put to the test


def test_a_certificate_with_a_negative_serial_number_is_a_warning(tmp_path, cli):
    """Go 1.23+ refuses it in programs built for Go 1.23+, which a KES or MinIO release may or may not be: a warning
    (CRT042), and the certificate is judged as usual otherwise."""
    from certgen import negative_serial, with_negative_serial

    root, layout = build(tmp_path)
    (root / "certs" / "kes-server.crt").write_bytes(with_negative_serial(layout.made["server"], layout.made["ca"])
                                                    .cert_pem())
    result = lint([root])
    assert errors(result) == []
    (finding,) = [f for f in result.findings if f.code == "CRT042"]
    assert "kes-server.crt" in finding.message
    assert "has a negative serial number, which Go 1.23 and later refuse to parse" in finding.message
    run = cli("lint", str(root), "--format", "json")
    assert run.stderr == "" and "CRT042" in run.stdout  # cryptography's warning about the number stays quiet
    (root / "certs" / "CAs" / "old-ca.crt").write_bytes(negative_serial("Old CA").cert_pem())
    assert [f.code for f in lint([root]).findings if f.code == "CRT042"] == ["CRT042", "CRT042"]
