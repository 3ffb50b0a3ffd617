"""SYS001-SYS099: the `kes server` command line of what starts KES (a systemd unit, a Compose service, a Kubernetes
container), the files a unit names, and the env files MinIO's unit loads.

The flags of `kes server` changed over the releases (field-failures E2, FM-05, FM-19, FM-36): `--root` went
before v0.17, `--mlock` in v0.21.0 (both then refused as undefined flags), and `--auth`, `--key` and `--cert`
stopped being honoured in the 2023-10-24 rewrite (from 2023-11-09 with a warning). Documentation and operator
defaults still carry them. Which release runs comes from --kes-version, else from the tag of KES's image, else from
the config's generation, else kescheck assumes the current KES and says so.
"""
from __future__ import annotations

import posixpath
from pathlib import Path

from ..findings import Finding, Location, Severity
from ..load.containers import SERVICE_ACCOUNT_DIRECTORY
from ..load.kesconfig import Generation, as_released, predates, release_date, same_release, target_release
from ..load.kescommand import KesLauncher, ServerFlag, Word
from ..load.source import same_file
from ..load.systemd import MinioUnit
from ..material import Role, in_pods, kes_value, material
from ..routes import ROUTES
from .base import Example, at_node, rule, text_anchor
from .certificates import at_reference
from .deployment import address_said, kes_listen_address, related_to
from .kes_risks import api_routes, skip_auth_set


def unknown_flag(name: str) -> str:
    """KES's refusal of a flag it does not define: current releases parse flags with `pflag`, v0.17 (minio/kes#173)
    with Go's standard parser, which words it differently."""
    return (f"`unknown flag: --{name}`; releases that parse flags with Go's standard parser say "
            f"`flag provided but not defined: -{name}`")

UNIT_EXAMPLE_FILE = "kes.service"
_BROKEN_CLI_RELEASE = "2023-09-28"  # KES223 reports that release: it never starts, whatever its flags
_CONFIG_G2 = "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/kes}}\n"


def _unit(command: str, extra: str = "", working_directory: str = "/etc/kes") -> str:
    """A unit like the ones in the field; `working_directory` is where a relative `--config` is opened (SYS009)."""
    start_in = f"WorkingDirectory={working_directory}\n" if working_directory else ""
    return f"[Service]\nUser=kes\n{start_in}{extra}ExecStart=/usr/local/bin/kes server {command}\n"


def _launched(name: str, text: str, fails: bool, note: str, options, config: str | None) -> Example:
    """The file `name` that starts KES, with the KES config beside it unless `config` is None."""
    return Example(((name, text),) + ((("config.yaml", config),) if config is not None else ()), fails, note,
                   tuple(options))


def _example(command: str, fails: bool, note: str = "", options=(), config: str | None = _CONFIG_G2,
             unit_extra: str = "", working_directory: str = "/etc/kes") -> Example:
    return _launched(UNIT_EXAMPLE_FILE, _unit(command, unit_extra, working_directory), fails, note, options, config)


def _compose(command: str, fails: bool, note: str = "", options=(), config: str | None = _CONFIG_G2) -> Example:
    """A Compose service of KES's image; `command` is its `command:` value as written."""
    service = f"services:\n  kes:\n    image: quay.io/minio/kes:2024-01-11T13-09-29Z\n    command: {command}\n"
    return _launched("compose.yaml", service, fails, note, options, config)


def _kubernetes(args: str, fails: bool, note: str = "", options=(), config: str | None = _CONFIG_G2,
                pod: str = "", container: str = "") -> Example:
    """A Deployment whose container runs KES's image with `args` (a YAML flow list); `pod` and `container` are more
    lines of the pod spec and of the container."""
    workload = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: kes}\nspec:\n  template:\n    spec:\n"
                + "".join(f"      {line}\n" for line in pod.splitlines())
                + "      containers:\n        - name: kes\n          image: minio/kes\n"
                + "".join(f"          {line}\n" for line in [f"args: {args}", *container.splitlines()]))
    return _launched("kes-deployment.yaml", workload, fails, note, options, config)


def _at_word(launcher: KesLauncher | MinioUnit, word: Word, message: str, *, end: Word | None = None, fix: str | None = None,
             anchor: str = "", related: tuple[Location, ...] = ()) -> Finding:
    last = end or word
    end_column = last.end_column if last.end_line == word.line else None
    return Finding(Location((word.source or launcher.source).path, word.line, word.column,
                            word.line if end_column else None, end_column), message, fix=fix, anchor=anchor,
                   related=related)


def _started_by(container) -> tuple[Location, ...]:
    """Where a container's command line starts KES, as a finding's related location."""
    return (Location(container.source.path, container.command.line, container.command.column),)


def _at_flag(launcher: KesLauncher, flag: ServerFlag, message: str, fix: str | None = None) -> Finding:
    return _at_word(launcher, flag.word, message, end=flag.value, fix=fix, anchor=f"kes-server:--{flag.name}")


def _release(deployment) -> str:
    version, config = deployment.options.kes_version, deployment.kes
    if version or (config is not None and config.detected):
        return target_release(config.generation if config is not None else None, version)
    return "the current KES (kescheck assumes it; name another with --kes-version)"


def _runs_from(deployment, release: str | tuple[int, int, int], unknown_g1: bool) -> bool:
    """Whether the KES that runs is `release` or later: from --kes-version, else from the config's generation
    (G0 predates every release asked about here; G1 counts as `unknown_g1`), else the current KES does."""
    version = deployment.options.kes_version
    if version:
        return not predates(version, release)
    config = deployment.kes
    if config is None or config.generation is Generation.G2:
        return True
    return unknown_g1 if config.generation is Generation.G1 else False


def _flags(deployment, *names: str):
    """(launcher, flag) for each flag of `names` on a command line that starts this KES."""
    if release_date(deployment.options.kes_version) == _BROKEN_CLI_RELEASE:
        return
    for launcher in deployment.launchers:
        for flag in launcher.flags:
            if flag.name in names:
                yield launcher, flag


@rule("SYS001", "unit-command-invalid", Severity.ERROR, "The `kes server` command line cannot run",
      rationale="""systemd refuses an `ExecStart=` line with a quote that is never closed, and the service then
      has nothing to start, and a unit whose `ExecStart=` holds a `%` that starts no specifier (`Failed to resolve
      unit specifiers`); Compose refuses a service whose `command:` string has an unclosed quote. `kes server` parses its
      flags with a Go flag parser: a flag that takes a value (`--config`, `--addr`, `--auth`) with nothing after it (`flag needs an argument: --config`) or a word such as
      `---config` (`bad flag syntax`) makes KES refuse to start before it reads its config; so does a flag the
      release does not define (`--confg`, or `--config /etc/kes/config.yaml` as one word of a Kubernetes `args:`
      list). KES 2023-11-09 and later also refuse any word that is no flag (`too many arguments`), such as a config
      path without `--config` before it; a word holding a variable (`$KES_OPTS`) is left alone, as it is replaced
      before KES sees it.""",
      fix="Write the command as `kes server --config /etc/kes/config.yaml` (in a unit: `ExecStart=/usr/local/bin/kes "
          "server ...`; for KES's image: `command: server --config ...` in Compose, `args: [server, --config, ...]` in "
          "Kubernetes): close every quote, give every flag its value, and end a continued unit line with a single "
          "backslash.",
      examples=(_example("--config /etc/kes/config.yaml --addr", True, "`--addr` without its value"),
                _example("--config \"/etc/kes/config.yaml", True, "a quote that is never closed"),
                _example("/etc/kes/config.yaml", True, "the config path without `--config`"),
                _compose("server /etc/kes/config.yaml", True, "a Compose service: the path without `--config`"),
                _compose("'server --config \"/etc/kes/config.yaml'", True, "a Compose command whose quote is never closed"),
                _kubernetes("[server, --config]", True, "a Kubernetes container: `--config` without its value"),
                _example("--config config.yaml --addr :7373", False),
                _kubernetes("[server, --config, /etc/kes/config.yaml]", False)))
def unit_command_invalid(deployment):
    refuses_arguments = _runs_from(deployment, "2023-11-09", unknown_g1=False) \
        and release_date(deployment.options.kes_version) != _BROKEN_CLI_RELEASE
    known = _known_flags(deployment)
    for launcher in deployment.launchers:
        for problem in launcher.problems:
            yield Finding(Location((problem.source or launcher.source).path, problem.line, problem.column,
                                   problem.line if problem.end_column else None, problem.end_column), problem.message)
        for flag in launcher.flags:
            if flag.word.text.startswith("--") and not flag.word.unexpanded and flag.name not in known | _JUDGED_ELSEWHERE:
                yield _at_flag(launcher, flag, f"`{flag.word.text.partition('=')[0]}` is no flag of `kes server` "
                                               f"({_release(deployment)} knows {', '.join(f'--{n}' for n in sorted(known))}"
                                               f"): KES refuses to start ({unknown_flag(flag.name)})")
        # A word holding a variable (`$KES_OPTS`, `${ARGS}`, `$(FLAGS)`) is replaced before KES sees it, by flags or by
        # nothing as far as kescheck knows: only the words KES gets as written are arguments for certain.
        arguments = [word for word in launcher.command.arguments if not word.unexpanded] if launcher.command else []
        if arguments and refuses_arguments:
            first = arguments[0]
            yield _at_word(launcher, first, f"`{first.text}` is no flag: {_release(deployment)} refuses to start "
                                            "(`too many arguments. See 'kes server --help'`)"
                                            + ("; write `--config` before the config's path" if first.text.endswith(
                                                (".yml", ".yaml")) else ""), end=arguments[-1],
                           anchor="kes-server:arguments")


_JUDGED_ELSEWHERE = frozenset({"help", "mlock", "root"})
"""Flags this check leaves alone: `--help`, and the removed ones SYS002 and SYS003 report with their history."""


def _known_flags(deployment) -> frozenset[str]:
    """The flags of `kes server` in the release that runs (field-failures E2): `--mlock` before v0.21.0, `--quiet` in
    v0.17.x, `--dev` since 2023-11-09. Without --kes-version the config's generation decides as for the other flags
    (a G1 config spans releases with and without `--quiet`, so it counts as known)."""
    known = {"addr", "config", "key", "cert", "auth"}
    version = deployment.options.kes_version
    if not _runs_from(deployment, (0, 21, 0), unknown_g1=False):
        known.add("mlock")
    if not _runs_from(deployment, (0, 18, 0), unknown_g1=False):
        known.add("quiet")
    if not version or not predates(version, "2023-11-09"):
        known.add("dev")
    return frozenset(known)


@rule("SYS002", "mlock-flag-removed", Severity.ERROR, "KES is started with `--mlock`, which KES 0.21 and later refuse",
      rationale="""KES v0.21.0 removed the `--mlock` flag: it now locks its memory by itself when it may, so key
      material never reaches swap. Since then `kes server --mlock` is an undefined flag and KES refuses to start
      (`unknown flag: --mlock` from current releases; `flag provided but not defined: -mlock` from releases that
      parse flags with Go's standard parser). The KES documentation and many copied units, Compose files and
      manifests still show it.""",
      fix="""Remove `--mlock`. To let KES lock its memory without running as root, give the process the
      capability: `AmbientCapabilities=CAP_IPC_LOCK` in the unit's [Service] section, or
      `setcap cap_ipc_lock=+ep $(readlink -f $(which kes))` on the binary; in a container, `cap_add: [IPC_LOCK]`
      (Compose) or `securityContext.capabilities.add: [IPC_LOCK]` (Kubernetes).""",
      examples=(_example("--config config.yaml --mlock", True),
                _compose("server --config /etc/kes/config.yaml --mlock", True, "a Compose service"),
                _kubernetes('["server", "--config=/etc/kes/config.yaml", "--mlock"]', True, "a Kubernetes container"),
                _compose("server --config /etc/kes/config.yaml", False),
                _example("--config config.yaml --mlock", False, "KES 0.20 still has the flag",
                         options=(("kes_version", "0.20"),)),
                _example("--config config.yaml", False)))
def mlock_flag_removed(deployment):
    if not _runs_from(deployment, (0, 21, 0), unknown_g1=True):
        return
    for launcher, flag in _flags(deployment, "mlock"):
        yield _at_flag(launcher, flag, f"`{flag.written}`: {_release(deployment)} has no --mlock flag and refuses to start "
                                   f"({unknown_flag('mlock')}): v0.21.0 removed the flag, and KES locks its memory "
                                   "by itself")


@rule("SYS003", "root-flag-removed", Severity.ERROR, "KES is started with `--root`, which KES has long refused",
      rationale="""Very early KES releases took the root (admin) identity as `kes server --root=IDENTITY`. The
      flag was removed before v0.17: every later KES refuses to start with it (`flag provided but not defined:
      -root` from v0.17, minio/kes#173; `unknown flag: --root` from current releases). The admin identity is set in the config: `admin.identity` (`root:` up to
      v0.17.1).""",
      fix="Remove `--root` from the command line and set the identity as `admin.identity` in the KES config "
          "(`identity: disabled` switches the admin off).",
      examples=(_example("--config config.yaml --root=disabled", True),
                _kubernetes("[server, --config, /etc/kes/config.yaml, --root, disabled]", True, "a Kubernetes container"),
                _example("--config config.yaml", False)))
def root_flag_removed(deployment):
    if predates(deployment.options.kes_version, (0, 17, 0)):
        return  # kescheck does not know when exactly before v0.17 the flag went
    for launcher, flag in _flags(deployment, "root"):
        yield _at_flag(launcher, flag, f"`{flag.written}`: {_release(deployment)} has no --root flag and refuses to start "
                                   f"({unknown_flag('root')}); the admin identity is "
                                   "`admin.identity` in the config")


def _auth_ignored(deployment) -> bool:
    return _runs_from(deployment, "2023-10-24", unknown_g1=False)


def _what_the_config_says(deployment, launcher: KesLauncher, flag: ServerFlag) -> str:
    config = deployment.kes
    if predates(deployment.options.kes_version, "2023-11-09"):
        return "this release requests client certificates and never verifies them"
    if config is None:
        return "client verification is `tls.auth` in the KES config now (`on` verifies, `off` or unset does not)"
    node = config.scalar("tls.auth")
    value = node.text.strip().lower() if node is not None else ""
    asked = flag.value.text.strip().lower() if flag.value is not None else ""
    if value == "on":
        said = f"the config's `tls.auth: on` (line {node.line}) decides: KES verifies client certificates"
        return said + (f", although {launcher.label} asks for `--auth=off`" if asked == "off" else "")
    where = f"`tls.auth: {node.text.strip()}` (line {node.line})" if node is not None and value else "no `tls.auth`"
    said = f"the config has {where}, so KES does not verify client certificates"
    return said + (f", although {launcher.label} asks for `--auth=on`" if asked == "on" else "")


@rule("SYS004", "server-flag-ignored", Severity.WARNING, "KES is started with `--auth`, `--key` or `--cert`, which current KES ignores",
      rationale="""Up to KES 2023-09-28, `kes server --auth=off` switched client certificate verification off,
      and `--key`/`--cert` named the TLS key pair. KES 2023-10-24 and 2023-10-27 parse `--auth` but ignore it;
      from 2023-11-09 (v0.23.0) `--auth`, `--key` and `--cert` only print a warning that they are no longer
      honoured. Client verification is `tls.auth` in the config now, and the key pair is `tls.key` and
      `tls.cert`: a unit, Compose service or container (or the MinIO Operator's default `--auth=off`) that still
      passes the flags does not get what it asks for.""",
      fix="Remove the flags; set `tls.auth: on` (verify client certificates against `tls.ca`) or `off` in the "
          "config, and the key pair as `tls.key` and `tls.cert`.",
      examples=(_example("--config config.yaml --auth=off", True),
                _kubernetes("[server, --config=/etc/kes/config.yaml, --auth=off]", True, "a Kubernetes container"),
                _compose("[server, --config, /etc/kes/config.yaml, --auth, 'off']", False,
                         "KES 0.22 honours --auth", options=(("kes_version", "0.22"),)),
                _example("--config config.yaml --auth off", False, "KES 0.22 honours --auth",
                         options=(("kes_version", "0.22"),)),
                _example("--config config.yaml", False)))
def server_flag_ignored(deployment):
    for launcher, flag in _flags(deployment, "auth", "key", "cert"):
        if flag.name == "auth":
            if not _auth_ignored(deployment):
                continue
            version = deployment.options.kes_version
            warning = "`'--auth' flag is deprecated and no longer honored`"
            how = "ignores it" if predates(version, "2023-11-09") else f"ignores it with a warning ({warning})" \
                if version else f"ignores it (from 2023-11-09 with a warning: {warning})"
            yield _at_flag(launcher, flag, f"`{flag.written}`: {_release(deployment)} {how}; "
                                           f"{_what_the_config_says(deployment, launcher, flag)}")
        elif _runs_from(deployment, "2023-11-09", unknown_g1=False):
            yield _at_flag(launcher, flag, f"`{flag.written}`: {_release(deployment)} ignores it with a warning "
                                           f"(`'--{flag.name}' flag is deprecated and no longer honored`); the TLS key "
                                           "pair is `tls.key` and `tls.cert` in the config")


@rule("SYS005", "auth-flag-disagrees", Severity.WARNING, "--kes-auth and the command line's `--auth` say different things",
      rationale="""For KES up to 2023-09-28, whether KES verifies client certificates depends on `kes server
      --auth`. kescheck reads it from the unit, Compose service or container that starts KES, and --kes-auth (or
      `kes-auth` in the settings) overrides it. When the two disagree, kescheck follows --kes-auth, and the findings
      about client verification may not describe the KES that command line starts.""",
      fix="Make --kes-auth (or the `kes-auth` setting) say what the command line does, or drop it and let kescheck "
          "read the command line.",
      examples=(_example("--config config.yaml --auth=off", True, options=(("kes_version", "0.22"), ("kes_auth", True))),
                _example("--config config.yaml --auth=off", False,
                         options=(("kes_version", "0.22"), ("kes_auth", False)))))
def auth_flag_disagrees(deployment):
    told = deployment.options.kes_auth
    if told is None or _auth_ignored(deployment):
        return
    for launcher, flag in _flags(deployment, "auth"):
        if flag is launcher.flag("auth") and launcher.auth not in (None, told):
            yield _at_flag(launcher, flag, f"{launcher.label} starts KES with `{flag.written}`, but --kes-auth "
                                           f"says `{'on' if told else 'off'}`: kescheck follows --kes-auth")


def _release_disagreements(deployment):
    """(container, what it disagrees with) for each container whose image tag names another release than the one
    kescheck checks for (--kes-version), or, without --kes-version, than the first tagged container of the deployment."""
    tagged = [container for container in deployment.containers if container.release]
    version = deployment.options.kes_version
    if version and deployment.options.kes_version_origin is None:
        for container in tagged:
            if not same_release(container.release, version):
                yield container, (f"--kes-version names KES {version.strip()}, so kescheck checks the config for that "
                                  "release")
        return
    for container in tagged[1:]:
        if not same_release(container.release, tagged[0].release):
            first = tagged[0].image
            where = f"line {first.line}" if first.source is None else f"{first.source.path.name}:{first.line}"
            yield container, (f"{tagged[0].label} runs KES {tagged[0].release} ({where}), so "
                              f"kescheck cannot tell which release reads the config and checks it for "
                              f"{_release(deployment)}")


@rule("SYS010", "image-release-disagrees", Severity.WARNING,
      "A container's KES image runs another release than the one the config is checked for",
      rationale="""What a KES config means depends on the release that reads it (generations G0 to G2, keys that
      came and went, refusals that changed). kescheck reads the release from --kes-version (or `kes-version` in the
      settings), else from the tag of KES's image (`minio/kes:v0.22.3`, `quay.io/minio/kes:2024-01-11T13-09-29Z`)
      in a Compose file or Kubernetes manifest of the deployment. When --kes-version names another release than an
      image runs, or two containers of one deployment run different releases (an upgrade half done), the findings
      describe a KES that one of them does not run.""",
      fix="""Make them agree: run one KES release for the config, and name it with --kes-version or let kescheck
      read it from the image tag (drop --kes-version).""",
      examples=(_compose("server --config /etc/kes/config.yaml", True, "the image is 2024-01-11, --kes-version says 0.22",
                         options=(("kes_version", "0.22"),)),
                Example((("compose.yaml", "services:\n  kes1:\n    image: minio/kes:2024-01-11T13-09-29Z\n"
                                          "    command: server --config /c.yaml\n  kes2:\n    image: minio/kes:v0.22.3\n"
                                          "    command: server --config /c.yaml\n"), ("config.yaml", _CONFIG_G2)),
                        True, "two services, two releases"),
                _compose("server --config /etc/kes/config.yaml", False, "the same release",
                         options=(("kes_version", "2024-01-11T13-09-29Z"),)),
                _compose("server --config /etc/kes/config.yaml", False, "the release comes from the tag")))
def image_release_disagrees(deployment):
    for container, other in _release_disagreements(deployment):
        yield _at_word(container, container.image, f"{container.label} runs KES {container.release} "
                                                   f"({container.image.text}), but {other}", anchor="image-release")


def _vault_token_config(jwt: str) -> str:
    return ("admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore:\n  vault:\n"
            f"    endpoint: https://vault:8200\n    kubernetes: {{role: kes, jwt: {jwt}}}\n")


_DEFAULT_TOKEN = f"{SERVICE_ACCOUNT_DIRECTORY}/token"
_PROJECTED_TOKEN = ("volumes:\n  - name: vault-token\n    projected:\n      sources:\n"
                    "        - serviceAccountToken: {path: vault-token, audience: vault, expirationSeconds: 3600}")
_TOKEN_MOUNT = "volumeMounts: [{name: vault-token, mountPath: /var/run/secrets/tokens}]"


@rule("SYS011", "vault-jwt-not-mounted", Severity.ERROR, "The Vault Kubernetes JWT file is not in KES's pod",
      rationale="""KES reads a `keystore.vault.kubernetes.jwt` that holds `/` as the token file when it starts, and
      refuses to start when it cannot (`kesconf: failed to read vault kubernetes JWT from ...`). In Kubernetes the
      token reaches KES's container in one of two ways: Kubernetes mounts the pod's service account token at
      /var/run/secrets/kubernetes.io/serviceaccount/token unless `automountServiceAccountToken: false` turns that off
      (in the pod spec, else in the pod's ServiceAccount), and a volume (a projected `serviceAccountToken` with
      Vault's audience, a Secret) puts one where its `volumeMounts:` entry says. kescheck reports a `jwt` path that
      neither brings: the token turned off, no volume mounted at or above the path, or a volume whose files are all
      known (a projected token, `items:`, a Secret or ConfigMap of the manifest) under other names. A volume whose
      files are not known here (an `emptyDir:` that a sidecar fills, a Secret that is not in the manifest) is taken
      to hold it. A ServiceAccount that is not in the manifest is not known either, so a pod spec that does not say
      is judged only against one that is.""",
      fix="""Point `jwt` at the token the container gets, mount one there (a `projected:` volume with a
      `serviceAccountToken` source whose `audience` Vault's Kubernetes role accepts), or let Kubernetes mount the
      service account token into KES's pod (drop `automountServiceAccountToken: false`).""",
      examples=(_kubernetes("[server, --config=/etc/kes/config.yaml]", True, "the token is turned off",
                            config=_vault_token_config(_DEFAULT_TOKEN), pod="automountServiceAccountToken: false"),
                _kubernetes("[server, --config=/etc/kes/config.yaml]", True, "the projected token has another name",
                            config=_vault_token_config("/var/run/secrets/tokens/token"), pod=_PROJECTED_TOKEN,
                            container=_TOKEN_MOUNT),
                _kubernetes("[server, --config=/etc/kes/config.yaml]", True, "nothing is mounted there",
                            config=_vault_token_config("/etc/kes/token")),
                _kubernetes("[server, --config=/etc/kes/config.yaml]", False, "the service account token",
                            config=_vault_token_config(_DEFAULT_TOKEN)),
                _kubernetes("[server, --config=/etc/kes/config.yaml]", False, "a projected token",
                            config=_vault_token_config("/var/run/secrets/tokens/vault-token"), pod=_PROJECTED_TOKEN,
                            container=_TOKEN_MOUNT),
                _kubernetes("[server, --config=/etc/kes/config.yaml]", False, "a volume that another container fills",
                            config=_vault_token_config("/var/run/secrets/tokens/token"),
                            pod="volumes: [{name: vault-token, emptyDir: {}}]", container=_TOKEN_MOUNT)))
def vault_jwt_not_mounted(deployment):
    config = deployment.kes
    token = material(deployment).vault_jwt if config is not None else None
    if token is None:
        return
    for container, verdict, why in in_pods(deployment, token):
        if verdict is False:
            yield at_node(config.source, token.node,
                          f"`keystore.vault.kubernetes.jwt` names '{token.text}', which {container.describe()} "
                          f"does not have: {why}; KES refuses to start "
                          + as_released("(`kesconf: failed to read vault kubernetes JWT from ...`)",
                                        deployment.options.kes_version),
                          related=_started_by(container))


_PROBE_OUTCOME = {
    "readinessProbe": "Kubernetes never marks the pod Ready, and a Service in front of KES sends MinIO's requests "
                      "to Ready pods only",
    "livenessProbe": "Kubernetes restarts KES again and again",
    "startupProbe": "Kubernetes kills KES again and again before it counts as started",
}
_PROBED_CONFIG = _CONFIG_G2 + "api: {/v1/ready: {skip_auth: true}}\n"


def _probed(probe: str, fails: bool, note: str = "", config: str = _PROBED_CONFIG, more: str = "") -> Example:
    """KES's container with a readiness probe `httpGet: probe` (and `more` lines of the container)."""
    return _kubernetes("[server, --config=/etc/kes/config.yaml]", fails, note, config=config,
                       container=f"readinessProbe: {{httpGet: {probe}}}\n{more}")


@rule("SYS012", "probe-always-fails", Severity.ERROR, "A Kubernetes probe of KES's container can never succeed",
      rationale="""kubelet's `httpGet` probes send a plain request and no client certificate. KES speaks only TLS,
      on the port of its `address` (7373 by default), and serves a route only to a client that presents a
      certificate, unless its config sets `api.<route>.skip_auth: true` (KES 2023-04-03 and later; earlier releases
      serve nothing without one). So a probe with the default `scheme: HTTP`, on another port, or on a route without
      `skip_auth` fails every time: a readiness probe keeps KES's pod out of its Service's endpoints, so MinIO cannot
      reach KES through the Service, and a liveness or startup probe has Kubernetes restart KES again and again.
      `/v1/ready` is the route made for probes (it answers 504 while the keystore cannot be reached); a `tcpSocket:`
      probe needs nothing from the config. A probe of another `host:` is not judged.""",
      fix="""Probe with `httpGet: {path: /v1/ready, port: 7373, scheme: HTTPS}` and set
      `api: {/v1/ready: {skip_auth: true}}` in the KES config, or use a `tcpSocket:` probe on KES's port.""",
      examples=(_probed("{path: /v1/ready, port: 7373}", True, "plain HTTP"),
                _probed("{path: /v1/ready, port: 7373, scheme: HTTPS}", True, "no `skip_auth` on the route",
                        config=_CONFIG_G2),
                _probed("{path: /v1/ready, port: 8080, scheme: HTTPS}", True, "another port"),
                _probed("{path: /v1/ready, port: 7373, scheme: HTTPS}", False),
                _probed("{path: /v1/ready, port: https, scheme: HTTPS}", False, "a named port",
                        more="ports: [{name: https, containerPort: 7373}]"),
                _kubernetes("[server, --config=/etc/kes/config.yaml]", False, "a TCP probe", config=_CONFIG_G2,
                            container="livenessProbe: {tcpSocket: {port: 7373}}")))
def probe_always_fails(deployment):
    config = deployment.kes
    listen = kes_listen_address(config) if config is not None else None
    served = {key.text for key, body in api_routes(deployment) if skip_auth_set(body) is not None} if config else set()
    for container in deployment.containers:
        port = listen[1] if listen is not None and container.flag("addr") is None else None
        for probe in container.probes:
            related: tuple[Location, ...] = ()
            if probe.port is not None and port is not None and probe.port != port:
                word, problem = probe.port_word, f"connects to port {probe.port}, but KES listens on port {port} " \
                    f"({address_said(listen[2])} in {config.source.path})"
                related = related_to(config, listen[2])
            elif not probe.https:
                word, problem = probe.scheme or probe.at, "sends plain HTTP (no `scheme: HTTPS`), but KES speaks only TLS"
            elif config is not None and probe.route not in served:
                word = probe.path or probe.at
                problem = (f"asks for `{probe.route}` without a client certificate, and "
                           + (f"the KES config at {config.source.path} does not serve it without one "
                              f"(`api.{probe.route}.skip_auth: true`)" if probe.route in ROUTES else
                              "that is no KES route (KES serves probes at `/v1/ready`)"))
            else:
                continue
            yield _at_word(container, word, f"The {probe.kind} of {container.label} {problem}, so it always fails: "
                                            f"{_PROBE_OUTCOME[probe.kind]}", anchor=f"k8s:{probe.kind}", related=related)


_LOST = ": what MinIO encrypted with a lost key cannot be read again"
_FS_CONFIG = "admin: {identity: disabled}\ntls: {key: /k, cert: /c}\nkeystore: {fs: {path: /var/lib/kes/keys}}\n"


def _fs_keystore(container: str, pod: str, fails: bool, note: str) -> Example:
    return _kubernetes("[server, --config=/etc/kes/config.yaml]", fails, note, config=_FS_CONFIG, pod=pod,
                       container=container)


@rule("SYS013", "fs-keystore-not-persistent", Severity.ERROR,
      "A container keeps KES's `fs` keystore where keys do not last",
      rationale="""The `fs` keystore keeps each key as a file under `keystore.fs.path` (`keys.fs.path` up to KES
      0.17); a key that is gone cannot
      decrypt what MinIO encrypted with it. In a container, a path on no volume is in the container's own file
      system, which Kubernetes discards whenever it restarts or replaces the container and Compose whenever it
      recreates it (`docker compose up` after a change of image or settings); an `emptyDir:` volume is deleted with
      the pod, a `tmpfs` mount when the container stops: the keys go with them. On a read-only volume (a Secret,
      ConfigMap, projected or downward API volume, `readOnly: true`, Compose's `:ro` or `read_only:`), or on no
      volume of a container whose own file system is read-only (Kubernetes' `readOnlyRootFilesystem: true`,
      Compose's `read_only: true`), KES cannot store a key at all. A persistent volume claim, a host path, a named volume, a bind mount or another writable
      volume keeps them.""",
      fix="""Mount a persistent volume at `keystore.fs.path` (a `persistentVolumeClaim:`, e.g. from a StatefulSet's
      `volumeClaimTemplates:`; a named volume or bind mount in Compose), or better, use a real KMS keystore
      (KES208).""",
      examples=(_fs_keystore("", "", True, "on no volume"),
                _fs_keystore("volumeMounts: [{name: keys, mountPath: /var/lib/kes}]",
                             "volumes: [{name: keys, emptyDir: {}}]", True, "an emptyDir"),
                _fs_keystore("volumeMounts: [{name: keys, mountPath: /var/lib/kes/keys, readOnly: true}]",
                             "volumes: [{name: keys, persistentVolumeClaim: {claimName: kes-keys}}]", True, "read-only"),
                _fs_keystore("volumeMounts: [{name: keys, mountPath: /var/lib/kes}]",
                             "volumes: [{name: keys, persistentVolumeClaim: {claimName: kes-keys}}]", False,
                             "a persistent volume claim"),
                _launched("compose.yaml", "services:\n  kes:\n    image: minio/kes\n    command: server --config "
                          "/etc/kes/config.yaml\n    volumes: ['./config.yaml:/etc/kes/config.yaml:ro']\n", True,
                          "a Compose service, on no volume", (), _FS_CONFIG),
                _launched("compose.yaml", "services:\n  kes:\n    image: minio/kes\n    command: server --config "
                          "/etc/kes/config.yaml\n    volumes: ['./config.yaml:/etc/kes/config.yaml:ro', "
                          "'kes-keys:/var/lib/kes/keys']\n", False, "a Compose service with a named volume", (),
                          _FS_CONFIG)))
def fs_keystore_not_persistent(deployment):
    config = deployment.kes
    node = next((found for dotted in ("keystore.fs.path", "keys.fs.path")  # `keys` up to v0.17 (G0)
                 if config is not None and (found := config.scalar(dotted)) is not None), None)
    path = kes_value(deployment, node)
    if path is None or not posixpath.isabs(path) or "$" in path:
        return
    for container in deployment.containers:
        if container.storage is None:
            continue
        runtime = "Kubernetes" if container.volume_mounts is not None else "Compose"
        volume = container.volume_at(path)
        if volume is None and container.read_only_root:
            problem = (f"is on no volume of {container.label}, whose own file system is read-only "
                       f"({container.read_only_root}): KES cannot store a key there, so creating MinIO's keys fails")
        elif volume is None:
            problem = (f"is on no volume of {container.label}: it is in the container's own file system, which "
                       f"{runtime} discards whenever it {_RECREATES[runtime]}, and every key with it{_LOST}")
        elif volume.read_only:
            problem = (f"is on the read-only {volume.volume_type or 'volume'} mounted at '{volume.target}' (line "
                       f"{volume.line} of {container.source.path}): KES cannot store a key there, so creating "
                       "MinIO's keys fails")
        elif volume.volume_type in _GONE_WITH:
            problem = (f"is on the `{volume.volume_type}` volume mounted at '{volume.target}' (line {volume.line} of "
                       f"{container.source.path}), {_GONE_WITH[volume.volume_type]}, and every key with it{_LOST}")
        else:
            continue
        yield at_node(config.source, node, f"`{node.path}` {path} {problem}", related=_started_by(container))


_RECREATES = {"Kubernetes": "restarts or replaces the container",
              "Compose": "recreates the container (`docker compose up` after a change of image or settings)"}
_GONE_WITH = {"emptyDir": "which Kubernetes deletes with the pod", "tmpfs": "which is in memory and gone when the "
                                                                            "container stops"}


_IDENTITY_BY_HAND = "env: [{name: MINIO_KES_IDENTITY, value: 9d6f4e3ce6e5bbbcbd38b1b6bbb4cd7f5f4a8a2e2b1e7cf06e4f5e3a1e4f0a2b}]"


def _tenant(kes: str, fails: bool, note: str) -> Example:
    """A MinIO Operator Tenant whose `spec.kes` section holds `kes` (YAML lines), beside a config naming
    `${MINIO_KES_IDENTITY}` in its policy."""
    tenant = ("apiVersion: minio.min.io/v2\nkind: Tenant\nmetadata: {name: tenant}\nspec:\n  kes:\n"
              "    kesSecret: {name: kes-configuration}\n" + "".join(f"    {line}\n" for line in kes.splitlines()))
    config = (_CONFIG_G2 + "policy:\n  minio:\n    allow: [/v1/key/generate/minio-*, /v1/key/decrypt/minio-*]\n"
              "    identities: ['${MINIO_KES_IDENTITY}']\n")
    return Example((("tenant.yaml", tenant), ("config.yaml", config)), fails, note)


@rule("SYS014", "operator-identity-overridden", Severity.WARNING,
      "A Tenant sets MINIO_KES_IDENTITY for KES itself, so the operator does not",
      rationale="""The MinIO Operator gives a Tenant's MinIO pods a client certificate (its own, or the one
      `spec.kes.clientCertSecret` names) and sets MINIO_KES_IDENTITY in KES's environment to that certificate's
      identity, so a policy naming `${MINIO_KES_IDENTITY}` is MinIO's. It does so only when `spec.kes.env` does not
      set the variable: a value written there stays when the operator makes MinIO a new certificate (an upgrade, a
      renewal), and KES then answers MinIO's key requests with `not authorized`. Without `clientCertSecret`, the
      certificate is one the operator makes, so no value written beforehand can be sure to match it
      (minio/operator#639: an upgrade left a stale identity).""",
      fix="""Remove MINIO_KES_IDENTITY from `spec.kes.env` and let the operator set it, or give MinIO a certificate of
      your own with `spec.kes.clientCertSecret` and keep the value its identity (`kes identity of CERT`).""",
      examples=(_tenant(_IDENTITY_BY_HAND, True, "set by hand, for a certificate the operator makes"),
                _tenant("", False, "the operator sets it"),
                _tenant("clientCertSecret: {name: minio-kes-client}\n" + _IDENTITY_BY_HAND, False,
                        "the identity of a certificate of one's own")))
def operator_identity_overridden(deployment):
    for container in deployment.containers:
        tenant = container.tenant
        if tenant is not None and tenant.identity_set is not None and not tenant.client_certificate:
            yield _at_word(container, tenant.identity_set,
                           f"`spec.kes.env` sets MINIO_KES_IDENTITY, so the MinIO Operator does not set it to the "
                           f"identity of the client certificate it makes for MinIO ({container.label}): when that "
                           "certificate is new (an upgrade, a renewal), a policy naming `${MINIO_KES_IDENTITY}` no "
                           "longer names MinIO, and KES refuses its key requests",
                           anchor="spec.kes.env:MINIO_KES_IDENTITY")


_MINIO_ENV = ("MINIO_VOLUMES=/mnt/data\nMINIO_KMS_KES_ENDPOINT=https://kes.example.net:7373\n"
              "MINIO_KMS_KES_CERT_FILE=/etc/minio/certs/kes-client.crt\nMINIO_KMS_KES_KEY_FILE=/etc/minio/certs/kes-client.key\n"
              "MINIO_KMS_KES_KEY_NAME=minio-key\n")


def _minio_unit(extra: str, fails: bool, note: str = "") -> Example:
    """MinIO's unit (`extra`: more lines of its [Service] section) beside an env file with KMS settings."""
    unit = f"[Service]\nUser=minio-user\n{extra}ExecStart=/usr/local/bin/minio server $MINIO_OPTS $MINIO_VOLUMES\n"
    return Example((("minio.service", unit), ("minio.env", _MINIO_ENV)), fails, note)


@rule("SYS015", "minio-env-not-loaded", Severity.ERROR,
      "MinIO's unit does not load the env file that holds its KMS settings",
      rationale="""MinIO takes its KMS settings from its environment. Under systemd that is what the unit gives it:
      its `Environment=` lines and the files its `EnvironmentFile=` lines name (or a file `MINIO_CONFIG_ENV_FILE`
      names, which MinIO reads itself). An env file no line loads is not read at all: MinIO starts without KES, so
      it cannot encrypt (`Server side encryption specified but KMS is not configured`) and cannot decrypt what was
      encrypted before. Nothing fails at start-up, and variables exported in a shell do not reach the service
      (field-failures FM-07; minio/minio#19781, a unit that did not read `/etc/default/minio`). Reported when the
      unit loads no file at all, or when every file it loads is here and none of them is the env file with the KMS
      settings; a file that is not here may be that env file where it is installed, and is not judged.""",
      fix="Load the env file in the unit's [Service] section (`EnvironmentFile=-/etc/default/minio`, with the path "
          "where it is installed), or move the settings into a file the unit loads; then run `systemctl "
          "daemon-reload` and restart MinIO.",
      examples=(_minio_unit("", True, "no `EnvironmentFile=`"),
                _minio_unit("EnvironmentFile=-/etc/default/minio\n", False,
                            "the stock unit: the file it loads is where the env file is installed"),
                _minio_unit("Environment=MINIO_CONFIG_ENV_FILE=/etc/minio/config.env\n", False,
                            "MinIO reads the file itself")))
def minio_env_not_loaded(deployment):
    if not deployment.minio_units:
        return
    with_kms = [env for env in deployment.envs if env.systemd_may_read and env.sets_any("MINIO_KMS_")]
    if not with_kms:
        return
    settings = with_kms[0]
    for unit in deployment.minio_units:
        if _environment_unknown(unit):
            continue
        loads = unit.env_files()
        related = (Location(settings.source.path, *_first_kms_line(settings)),)
        if not loads:
            if any(ref.ignored for ref in unit.environment_files):
                continue  # SYS008 says why each line is ignored
            yield _at_word(unit, unit.executable, f"{unit.label} loads no env file (no `EnvironmentFile=`, no "
                                                  f"`MINIO_CONFIG_ENV_FILE`), so MinIO starts without the KMS "
                                                  f"settings of {settings.source.path}: it runs without KES",
                           anchor="unit:EnvironmentFile", related=related)
            continue
        paths = [deployment.resolve(text, unit.source) for _, text in loads]
        if not all(path.is_file() for path in paths) or any(same_file(path, env.source.path) for path in paths
                                                            for env in with_kms):
            continue
        yield _at_word(unit, loads[0][0], f"{unit.label} loads {', '.join(map(str, paths))}, not "
                                          f"{settings.source.path}, which holds MinIO's KMS settings: MinIO starts "
                                          "without them and runs without KES",
                       anchor="unit:EnvironmentFile", related=related)


def _environment_unknown(unit) -> bool:
    """Whether MinIO may get its KMS settings from elsewhere than the env files kescheck judges: the unit's own
    `Environment=` (judged as MinIO's environment), what `MinioUnit.unknown_environment` names, or drop-ins."""
    return unit.sets_kms() or unit.unknown_environment() is not None or unit.unread_drop_ins()


def _runs_here(deployment, unit) -> bool:
    """Whether the unit and the files it names are where the server runs, so that the files' permissions are the ones
    it meets: KES's unit names this KES config by its absolute path, MinIO's loads this env file (or gives the
    settings itself). In a repository the unit names where the files will be installed, and nothing is judged."""
    if isinstance(unit, MinioUnit):
        loads = unit.env_file_paths()
        return any(env.source is unit.source or any(same_file(path, env.source.path) for path in loads)
                   for env in deployment.envs)
    config = unit.config
    return (config is not None and config.text.startswith("/") and deployment.kes is not None
            and same_file(Path(config.text), deployment.kes.source.path))


def _setting_line(unit, key: str) -> tuple[Location, ...]:
    """Where the unit (or the last of its drop-ins to do so) last assigns `key` (its `User=` line, say), as a
    finding's related location; the unit's first line when no line does."""
    source, number = (unit.lines_of(key) or [(unit.source, 1)])[-1]
    return (Location(source.path, number, 1),)


def _readable_unit(user: str, fails: bool, note: str, config_path: str = "${dir}/config.yaml") -> Example:
    """KES's unit, running as `user` (none: root), whose config names a key of mode 0600 beside it."""
    config = ("admin: {identity: disabled}\ntls: {key: ${dir}/kes.key, cert: ${dir}/kes.crt}\n"
              "keystore: {fs: {path: /var/kes}}\n")
    unit = f"[Service]\n{user}ExecStart=/usr/local/bin/kes server --config {config_path}\n"
    return Example((("kes.service", unit), ("config.yaml", config), ("kes.crt", "!cert cn=kes dns=kes.example.net"),
                    ("kes.key", "!key of=kes.crt")), fails, note)


_CANNOT_READ = {"KES": "KES refuses to start", "MinIO": "MinIO cannot load it and refuses to start"}


@rule("SYS016", "service-user-cannot-read", Severity.ERROR,
      "The user a unit runs KES or MinIO as cannot read a file the server opens",
      rationale="""systemd starts the server as the unit's `User=` (with its `Group=`, the user's groups and
      `SupplementaryGroups=`), not as the administrator who installed the files. A certificate, private key or CA
      file that user cannot read, or that lies in a directory it cannot enter, stops the server at start: KES
      refuses to start (as it does when it cannot read its config), and MinIO cannot load its KES client certificate
      or key; an unreadable
      MINIO_KMS_KES_CAPATH MinIO ignores without a word, and then trusts the system roots alone (nor can it read
      the CAs of its certs directory, `<certs-dir>/CAs`, which it trusts without CAPATH). A key made
      `chmod 600` by root while the service runs as `kes` or `minio-user` is the usual cause. kescheck checks the
      permission bits on the host it runs on, for a user this host's user database knows, and only where the server
      runs: KES's unit names this config by its absolute path, MinIO's unit loads this env file (or sets the
      variables itself), and the file is named by its absolute path. In a repository, where a unit names the paths
      the files will be installed at, it says nothing; a file or directory with an ACL is not judged either, nor a
      unit whose `AmbientCapabilities=` may give the user `CAP_DAC_OVERRIDE` or `CAP_DAC_READ_SEARCH` (with
      either, the kernel lets it read any file).""",
      fix="""Give the files to the service's user (`chown kes:kes /etc/kes/kes.key`, mode 0600 for keys) or to a
      group it is in (mode 0640), and let it enter every directory above them.""",
      examples=(_readable_unit("User=nobody\n", True, "the files belong to the user who wrote them, in a directory "
                                                      "only that user may enter"),
                _readable_unit("", False, "no `User=`: the service runs as root"),
                _readable_unit("User=nobody\n", False, "in a repository: the unit names the config where it will be "
                                                       "installed", "/etc/kes/config.yaml")))
def service_user_cannot_read(deployment):
    from ..service_user import service_user, unreadable

    units = {"KES": deployment.unit, "MinIO": deployment.minio_units[0] if deployment.minio_units else None}
    if units["KES"] is None and units["MinIO"] is None:
        return
    users = {consumer: service_user(unit) if unit is not None and _runs_here(deployment, unit) else None
             for consumer, unit in units.items()}
    kes_user, kes_unit = users["KES"], units["KES"]
    why = unreadable(deployment.kes.source.path, kes_user) if kes_user is not None else None
    if why:  # where the unit runs KES, its --config names this config (`_runs_here`)
        yield _at_word(kes_unit, kes_unit.config, f"`--config {kes_unit.config.text}`: {kes_unit.source.path.name} "
                                                  f"runs KES as user '{kes_user.name}', who cannot read it: {why}; "
                                                  "KES refuses to start", anchor="kes-server:--config",
                       related=_setting_line(kes_unit, "User"))
    for ref in _opened_files(deployment):
        user = users.get(ref.consumer)
        if user is None or ref.role is Role.VAULT_JWT:
            continue
        why = unreadable(ref.path, user)
        if why:
            unit = units[ref.consumer]
            yield at_reference(ref, f"{ref.setting} names {ref.path}, but {unit.source.path.name} runs {ref.consumer} "
                                    f"as user '{user.name}', who cannot read it: {why}; {_unread(ref)}",
                               related=_setting_line(unit, "User"))


def _opened_files(deployment):
    """The files of this host the deployment's servers open, named by absolute paths: what the config and the env
    files name, and MinIO's `<certs-dir>/CAs` (not mounted into a container)."""
    found = material(deployment)
    for ref in found.references + [side.certs_cas for side in found.minio if side.certs_cas is not None]:
        if ref.mounted is None and ref.text.startswith("/"):
            yield ref


def _unread(ref) -> str:
    """What follows when the server cannot read the file `ref` names."""
    if ref.role is Role.MINIO_CAPATH:
        return "MinIO ignores a CAPATH it cannot read and verifies KES against the system roots alone"
    if ref.role is Role.MINIO_CERTS_CAS:
        return "MinIO cannot read the CAs there, which it verifies KES against without MINIO_KMS_KES_CAPATH"
    return _CANNOT_READ[ref.consumer]


def _sandboxed_unit(config_path: str, sandbox: str, fails: bool, note: str = "") -> Example:
    """KES's unit with the `sandbox` lines, whose config names its files in /etc/kes/certs; `config_path` is the
    path `--config` names."""
    config = ("admin: {identity: disabled}\ntls: {key: /etc/kes/certs/kes.key, cert: /etc/kes/certs/kes.crt}\n"
              "keystore: {fs: {path: /var/lib/kes}}\n")
    unit = f"[Service]\nUser=kes\n{sandbox}ExecStart=/usr/local/bin/kes server --config {config_path}\n"
    return Example((("kes.service", unit), ("config.yaml", config)), fails, note)


@rule("SYS017", "unit-sandbox-hides-file", Severity.ERROR,
      "The sandbox of KES's or MinIO's unit hides a file the server opens",
      rationale="""systemd can start a service in a file-system sandbox (systemd.exec(5)): `PrivateTmp=yes` gives
      it a private, empty /tmp and /var/tmp (`DynamicUser=yes` implies it, even with `PrivateTmp=no`),
      `ProtectHome=yes` or `tmpfs` makes /home, /root and /run/user inaccessible or empty, and `InaccessiblePaths=`
      and `TemporaryFileSystem=` hide the paths they name. The server then does not see a file that is there on the
      host, whatever its permissions: KES refuses to start when it cannot read its config, certificate or key, and
      MinIO cannot load its KES client certificate or key (a MINIO_KMS_KES_CAPATH it cannot find it ignores, and trusts the system roots alone; nor
      can it read the CAs of its certs directory, `<certs-dir>/CAs`, which it trusts without CAPATH). `ls`
      as root shows the file, so the cause is easy to miss. Judged from the unit's text and the absolute paths the
      files are named by, so in a repository too. Below an inaccessible directory nothing shows a file again
      (systemd drops every mount below one); in an emptied one (a private /tmp, `ProtectHome=tmpfs`,
      `TemporaryFileSystem=`) a `BindPaths=` or `BindReadOnlyPaths=` mount of the file or a directory above it does,
      while `ReadOnlyPaths=` and the like only remount what is there. Not judged when `RootDirectory=` or
      `RootImage=` changes the root, when a mount lands on the hiding directory itself, when a path holds a `%`
      specifier, or when drop-ins beside the unit could not all be read (those that could are part of its
      settings). A private /tmp and a `TemporaryFileSystem=` start empty but writable, so with an `ExecStartPre=`
      command, which runs in the same sandbox and may put the file there, they are not judged.""",
      fix="""Keep the server's files where the sandbox leaves them visible (`/etc/kes/`, `/etc/minio/certs/`); or,
      where the directory is emptied rather than made inaccessible (`ProtectHome=tmpfs`, `TemporaryFileSystem=`, a
      private /tmp), mount them into it (`BindReadOnlyPaths=/root/certs`); or relax the setting
      (`ProtectHome=read-only`).""",
      examples=(_sandboxed_unit("/etc/kes/config.yaml", "InaccessiblePaths=/etc/kes/certs\n", True,
                                "the certificate and key are in a directory the unit hides"),
                _sandboxed_unit("/root/kes/config.yaml", "ProtectHome=yes\n", True, "KES's own config in /root"),
                _sandboxed_unit("/etc/kes/config.yaml", "PrivateTmp=yes\nProtectHome=yes\n", False,
                                "the files are outside /tmp and the home directories"),
                _sandboxed_unit("/root/kes/config.yaml", "ProtectHome=read-only\n", False, "read-only still reads"),
                _sandboxed_unit("/etc/kes/config.yaml", "TemporaryFileSystem=/etc/kes\nBindReadOnlyPaths=/etc/kes/certs "
                                "/etc/kes/config.yaml\n", False, "mounted into the emptied directory again"),
                _sandboxed_unit("/etc/kes/config.yaml", "InaccessiblePaths=/etc/kes\nBindReadOnlyPaths=/etc/kes/certs "
                                "/etc/kes/config.yaml\n", True, "nothing shows a file below an inaccessible one")))
def unit_sandbox_hides_file(deployment):
    units = {"KES": deployment.unit, "MinIO": deployment.minio_units[0] if deployment.minio_units else None}
    units = {consumer: unit for consumer, unit in units.items() if unit is not None and not unit.unread_drop_ins()}
    if not units:
        return
    kes_unit = units.get("KES")
    config = kes_unit.config if kes_unit is not None else None
    if config is not None and config.names_known_path and config.text.startswith("/"):
        hidden = kes_unit.hidden_by_sandbox(config.text)
        if hidden:
            key, why = hidden
            yield _at_word(kes_unit, config, f"`--config {config.text}`: {why}, so KES cannot read its config and "
                                             "refuses to start", anchor="kes-server:--config",
                           related=_setting_line(kes_unit, key))
    for ref in _opened_files(deployment):
        unit = units.get(ref.consumer)
        hidden = unit.hidden_by_sandbox(ref.text) if unit is not None else None
        if hidden:
            key, why = hidden
            yield at_reference(ref, f"{ref.setting} names {ref.text}, but {unit.source.path.name} starts "
                                    f"{ref.consumer} in a sandbox that hides it: {why}; {_unread(ref)}",
                               related=_setting_line(unit, key))


def _with_drop_in(drop_in: str, fails: bool, note: str) -> Example:
    """KES's unit with one drop-in (`kes.service.d/override.conf`, as `systemctl edit` writes it)."""
    unit = _unit("--config /etc/kes/config.yaml", working_directory="")
    return Example(((UNIT_EXAMPLE_FILE, unit), (f"{UNIT_EXAMPLE_FILE}.d/override.conf", drop_in),
                    ("config.yaml", _CONFIG_G2)), fails, note)


@rule("SYS018", "unit-exec-start-repeated", Severity.ERROR,
      "KES's or MinIO's unit has more than one `ExecStart=`, which systemd refuses",
      rationale="""Only a `Type=oneshot` service may have several `ExecStart=` lines; systemd refuses to load any
      other unit that has them (`Service has more than one ExecStart= setting, which is only allowed for
      Type=oneshot services. Refusing.`), so the server never starts, and `systemctl status` shows the unit as
      `bad-setting`. A drop-in adds its `ExecStart=` to the unit's instead of replacing it, unless an empty
      `ExecStart=` line empties the list first: the usual slip when `systemctl edit kes` is used to add a flag.""",
      fix="""In the drop-in, put an empty `ExecStart=` line before the new command (`ExecStart=` then
      `ExecStart=/usr/local/bin/kes server --config ...`); in a unit file, keep one `ExecStart=`.""",
      examples=(_with_drop_in("[Service]\nExecStart=/usr/local/bin/kes server --config /etc/kes/config.yaml "
                              "--auth off\n", True, "the drop-in adds a second command line"),
                _minio_unit("ExecStart=/usr/local/bin/minio server /mnt/data\n", True,
                            "MinIO's unit with two command lines"),
                _with_drop_in("[Service]\nExecStart=\nExecStart=/usr/local/bin/kes server --config "
                              "/etc/kes/config.yaml --auth off\n", False, "the drop-in empties the list first"),
                _example("--config config.yaml", False, "a oneshot service may have several",
                         unit_extra="Type=oneshot\nExecStart=/usr/local/bin/kes --version\n")))
def unit_exec_start_repeated(deployment):
    for unit in _units(deployment):
        if unit.unread_drop_ins():
            continue  # one of them may set Type=oneshot or empty the list
        refused = unit.refused_exec_starts()
        if not refused:
            continue
        first, extra = unit.exec_start_keys[0], refused[0]
        first_file = first.source or unit.source
        where = "in the drop-in" if extra.source is not None else "in the unit"
        reset = (" (a drop-in replaces the command only when an empty `ExecStart=` comes first)"
                 if extra.source is not None else "")
        yield _at_word(unit, extra, f"a second `ExecStart=` {where}, after the one at {first_file.path.name}:"
                                    f"{first.line}: systemd refuses a unit with more than one unless it is "
                                    f"`Type=oneshot`{reset}, so {_server(unit)} never starts",
                       related=(Location(first_file.path, first.line, first.column),))


def _first_kms_line(env) -> tuple[int, int]:
    entry = next(entry for entry in env.entries if entry.name.startswith("MINIO_KMS_"))
    return entry.line, entry.name_column


def _missing_files(deployment):
    """(launcher, the word naming the file, its path here, what it is) for a container's `--config` that a mount
    brings from this host, the unit's `--config` and each `EnvironmentFile=` written without `-`, when the file does
    not exist here. A path holding `$VAR`, a `%` specifier or a glob is not resolved; a missing file named with `-`
    is skipped, as systemd skips it."""
    for launcher, word, path, kind in _named_configs(deployment):
        if not path.exists():
            yield launcher, word, path, kind
    for service in _units(deployment):
        for ref in service.environment_files:
            if ref.optional or not ref.resolvable:
                continue
            word = ref.path
            path = deployment.resolve(word.text, service.source)
            if not path.exists():
                yield service, word, path, "env"


def _units(deployment):
    """The systemd units of the deployment: the one that starts KES, then MinIO's."""
    return ([deployment.unit] if deployment.unit is not None else []) + deployment.minio_units


def _server(unit) -> str:
    """What the unit starts, for messages."""
    return "MinIO" if isinstance(unit, MinioUnit) else "KES"


@rule("SYS008", "environment-file-ignored", Severity.WARNING,
      "systemd ignores an `EnvironmentFile=` whose path is not absolute",
      rationale="""systemd takes the whole value of `EnvironmentFile=` as one path, after an optional leading `-`: it
      does not remove quotes and does not split at spaces. A path that is not absolute (`kes.env`, `./kes.env`, or
      `"/etc/default/kes"` in quotes) is ignored when the unit is loaded (`EnvironmentFile= path is not absolute,
      ignoring`, in the journal only), so KES starts without those variables: it refuses to start on a `${VAR}` of
      its config that is then unset (KES100), or runs with an empty setting on KES up to 0.21. kescheck leaves such
      a file out of the environment it gives KES, as systemd does. MinIO's unit likewise starts MinIO without the
      KMS settings of such a file (SYS015).""",
      fix="Write the absolute path without quotes (`EnvironmentFile=/etc/default/kes`, or `EnvironmentFile=-/etc/"
          "default/kes` for a file that may be absent); one `EnvironmentFile=` line per file.",
      examples=(_example("--config config.yaml", True, "the path in quotes",
                         unit_extra='EnvironmentFile="/etc/default/kes-kescheck-example"\n'),
                _example("--config config.yaml", True, "a relative path", unit_extra="EnvironmentFile=-kes.env\n"),
                _minio_unit('EnvironmentFile="/etc/default/minio"\n', True, "MinIO's unit"),
                _example("--config config.yaml", False, unit_extra="EnvironmentFile=-/etc/default/kes-kescheck-example\n")))
def environment_file_ignored(deployment):
    for unit in _units(deployment):
        for ref in unit.environment_files:
            if not ref.ignored:
                continue
            written = ("-" if ref.optional else "") + ref.path.text
            why = ("empty" if not ref.path.text else
                   "in quotes, which systemd keeps as part of the path" if ref.path.text[0] in "\"'" else "relative")
            yield _at_word(unit, ref.path, f"`EnvironmentFile={written}` is not an absolute path ({why}): systemd "
                                           f"ignores this line and starts {_server(unit)} without the variables of "
                                           "that file", anchor=f"unit:EnvironmentFile={ref.path.text}")


@rule("SYS019", "environment-assignment-ignored", Severity.WARNING,
      "systemd ignores an `Environment=` assignment it cannot read",
      rationale="""systemd reads an `Environment=` line word by word, with C escapes (`\\t`, `\\n`, `\\\\`, `\\"`,
      `\\x41`), and then replaces specifiers (`%i`, `%h`, `%%` for a percent sign, systemd.unit(5)) in each word. It
      ignores an assignment with a `%` followed by anything else (`Failed to resolve specifiers in ..., ignoring`),
      and at a backslash that starts no escape it knows it stops reading the line (`Invalid syntax, ignoring`): the
      assignments from there on are lost, those before it kept. Both are written to the journal only. A password or
      token with a percent sign or a backslash in it (URL-encoded, or generated) leaves the service without it: KES
      refuses to start on a `${VAR}` of its config that is then unset (KES100), and MinIO starts without the KMS
      settings. kescheck leaves those variables out of the environment, as systemd does. The set of specifiers is
      that of the newest systemd, so an older one may refuse more.""",
      fix="""Write a literal percent sign as `%%` and a backslash as `\\\\` in `Environment=`, or move the assignment
      into an `EnvironmentFile=`, whose values systemd does not search for specifiers.""",
      examples=(_example("--config config.yaml", True, "a URL-encoded secret",
                         unit_extra='Environment="VAULT_SECRET_ID=7d2b%21c4e" VAULT_ROLE_ID=kes\n'),
                _example("--config config.yaml", True, "a backslash that starts no escape",
                         unit_extra="Environment=KES_PATH=C:\\kes\\quorum KES_NOTE=lost-too\n"),
                _example("--config config.yaml", False, "the percent sign doubled, a specifier, an escape",
                         unit_extra='Environment="VAULT_SECRET_ID=7d2b%%21c4e" KES_HOME=%h KES_TAB=a\\tb\n')))
def environment_assignment_ignored(deployment):
    for unit in _units(deployment):
        for ignored in unit.ignored_environment:
            names = ", ".join(ignored.names) or "an assignment"
            # The characters after the `%` or backslash are not quoted: they may be part of a secret.
            if ignored.escape:
                message = (f"this backslash starts no escape systemd knows, so systemd stops reading this "
                           f"`Environment=` line here and starts {_server(unit)} without {names}")
            else:
                message = (f"this `%` starts no specifier systemd knows, so systemd ignores this assignment and starts "
                           f"{_server(unit)} without {names}")
            yield _at_word(unit, ignored.at, message)


@rule("SYS020", "unit-section-header", Severity.ERROR,
      "A section header of KES's or MinIO's unit that systemd refuses or does not know",
      rationale="""systemd takes a section name exactly as written between the brackets: `[service]` or
      `[ Service ]` is an unknown section, whose settings it ignores (`Unknown section 'service'. Ignoring.`, in the
      journal only); in the unit's own file the service then has no `ExecStart=` and systemd refuses it. A header
      line must end with its `]`: `[Service] # KES` is no header, and systemd refuses to load a unit file with one
      (`Invalid section header`), or stops reading a drop-in there, so the drop-in's settings below it do not apply
      (the unit runs as if the override were not there). kescheck reads a unit file's sections as meant, to judge the
      rest of it, and a drop-in as systemd does.""",
      fix="Write the header exactly `[Service]` (or `[Unit]`, `[Install]`) on a line of its own; put a comment on the "
          "line above it.",
      examples=(Example(((UNIT_EXAMPLE_FILE, _unit("--config /etc/kes/config.yaml").replace("[Service]", "[service]")),
                         ("config.yaml", _CONFIG_G2)), True, "the section name in lower case"),
                _with_drop_in("[Service] # add the audit log\nExecStart=\nExecStart=/usr/local/bin/kes server "
                              "--config /etc/kes/config.yaml --auth off\n", True,
                              "a comment after a drop-in's header"),
                Example((("minio.service", "[ Service ]\nUser=minio-user\nExecStart=/usr/local/bin/minio server "
                                           "/mnt/data\n"), ("minio.env", _MINIO_ENV)), True, "MinIO's unit"),
                _with_drop_in("# add the audit log\n[Service]\nExecStart=\nExecStart=/usr/local/bin/kes server "
                              "--config /etc/kes/config.yaml --auth off\n", False, "the comment on a line of its own")))
def unit_section_header(deployment):
    for unit in _units(deployment):
        for problem in unit.header_problems:
            yield Finding(Location((problem.source or unit.source).path, problem.line, problem.column,
                                   problem.line, problem.end_column), problem.message,
                          anchor=text_anchor("unit-section", (problem.source or unit.source).lines[problem.line - 1]))


@rule("SYS009", "config-path-relative", Severity.WARNING,
      "The unit's `--config` is a relative path, which KES opens from `/`",
      rationale="""KES opens the file `kes server --config` names relative to its working directory, and systemd
      starts a system service in `/` unless the unit sets `WorkingDirectory=`. So `--config config.yaml` makes KES
      read `/config.yaml`, wherever the unit file and the config lie: KES refuses to start (`open config.yaml: no
      such file or directory`), or reads some other file. In a repository kescheck still pairs the unit with the
      config beside it, as its author meant.""",
      fix="Give `--config` an absolute path (`--config /etc/kes/config.yaml`), or set `WorkingDirectory=` to the "
          "directory that holds the config.",
      examples=(_example("--config config.yaml", True, working_directory=""),
                _example("--config config.yaml", False, "WorkingDirectory= says where KES starts"),
                _example("--config /etc/kes-kescheck-example/config.yaml", False, config=None)))
def config_path_relative(deployment):
    unit = deployment.unit
    config = unit.config if unit is not None else None
    if config is None or not config.names_known_path or config.text.startswith("/") or unit.setting("WorkingDirectory") \
            or release_date(deployment.options.kes_version) == _BROKEN_CLI_RELEASE:
        return
    opened = posixpath.normpath("/" + config.text)
    yield _at_word(unit, config, f"`--config {config.text}` is a relative path: systemd starts KES in `/` (the unit "
                                 f"sets no `WorkingDirectory=`), so KES opens {opened}, not the file beside the unit",
                   anchor="kes-server:--config")


def _pod_config_not_found(deployment):
    """The Kubernetes containers and Operator Tenants whose KES config is not among the inputs: their config is a file
    of the pod (a ConfigMap or Secret mounted into it), so without it nothing of what KES reads was checked."""
    if deployment.kes is not None:
        return
    for container in deployment.containers:
        secret = container.tenant.config_secret if container.tenant is not None else None
        if secret is not None:
            yield _at_word(container, secret,
                           f"`kesSecret` names Secret '{secret.text}', which holds the KES config of "
                           f"{container.label}, but no file among the inputs holds that Secret's KES config, so "
                           "kescheck could not check it", anchor="kesSecret")
        elif container.volume_mounts is not None and container.config is not None:
            yield _at_word(container, container.config,
                           f"`--config` names {container.config.text}, a file of the pod that no ConfigMap or Secret "
                           f"among the inputs holds, so kescheck could not check the config {container.label} starts",
                           anchor="kes-server:--config")


def _named_configs(deployment):
    """(launcher, its `--config` word, the file's path here, what it is) for each container's `--config` that a mount
    brings from this host, then the unit's `--config`. A path holding `$VAR` or a `%` specifier is not resolved."""
    for container in deployment.containers:
        if container.config_on_host is not None:
            yield container, container.config, container.config_on_host, "mounted config"
    unit = deployment.unit
    config = unit.config if unit is not None else None
    if config is not None and config.names_known_path:
        yield unit, config, deployment.resolve(config.text, unit.source), "config"


def _config_not_read(deployment):
    """The unit's or a container's `--config` names a file that is here, but no KES config was read from it: outside
    the tree of the launcher, kescheck reads only a file whose content shows a KES config (`source.in_tree_of`)."""
    if deployment.kes is not None:
        return
    for launcher, word, path, kind in _named_configs(deployment):
        if path.is_file():
            yield _at_word(launcher, word, f"`--config` names {_config_path(word, path, kind)}, which is no KES config "
                                           "by its content, so kescheck did not read it (outside the tree it checks, "
                                           "it reads only files that show what they are)", anchor="kes-server:--config")


def _config_path(word: Word, path, kind: str) -> str:
    """The config's path for messages, with where a container's mount brings it from."""
    return f"{word.text}, mounted from {path}" if kind == "mounted config" else str(path)


def _unknown_environment(deployment) -> str:
    if deployment.options.kes_env is not None and deployment.options.kes_env_origin is None:
        return "; --kes-env gives that environment instead"
    return " (give the whole environment with --kes-env FILE)"


@rule("SYS006", "config-file-not-found", Severity.NOTE,
      "A file the unit or container names (its KES config, an `EnvironmentFile=`) is not here to check",
      rationale="""The unit's `kes server --config FILE` names the config KES reads, and its `EnvironmentFile=`
      lines the files systemd reads KES's environment from. In a repository they usually point at where the files
      will be installed (`/etc/kes/config.yaml`, `/etc/default/kes`), not where they are kept, so lint mode only
      notes that kescheck could not read them there: the one KES config among the inputs is checked with the unit
      instead, and what an environment file that is not here would set stays unknown (KES213 notes the variables
      only it can set). MinIO's unit likewise names where MinIO's env file will be installed (`/etc/default/minio`):
      the env file among the inputs is checked as MinIO's settings instead. A file
      named with a leading `-` is optional: systemd skips it when it does not exist, and so does kescheck. A
      Compose service's `--config` is a path in the container: kescheck looks for it where a bind mount, config or
      secret of the service brings it from. On the host (or with --require-files) a missing file is an error
      (SYS007). A Kubernetes container's `--config` (and the `kesSecret` of a MinIO Operator Tenant) names a file of
      the pod, which a ConfigMap or Secret brings: when none among the inputs holds a KES config for it, the
      container is checked without one, and this note says so. A file that is here but lies outside the tree of
      the unit or Compose file (its git work tree, else its directory) is read only when its content shows a KES
      config: `--config /etc/shadow` in a unit of an untrusted pull request must not put that file into a CI log;
      this note says when such a file was not read.""",
      fix="Run kescheck where the files are, name the KES config with the unit (for Kubernetes: the manifest of the "
          "ConfigMap or Secret that holds it), give the environment with --kes-env FILE, and use --require-files on "
          "hosts that hold the files.",
      examples=(_example("--config /etc/kes-kescheck-example/config.yaml", True, config=None),
                _kubernetes("[server, --config=/etc/kes/config.yaml]", True, "a Kubernetes container whose ConfigMap "
                            "is not among the inputs", config=None,
                            pod="volumes: [{name: c, configMap: {name: kes-config}}]",
                            container="volumeMounts: [{name: c, mountPath: /etc/kes}]"),
                _kubernetes("[server, --config=/etc/kes/config.yaml]", False, config=_CONFIG_G2),
                _launched("compose.yaml", "services:\n  kes:\n    image: minio/kes\n    command: server --config "
                          "/etc/kes/config.yaml\n    volumes: ['./kes-kescheck-example:/etc/kes']\n", True,
                          "mounted from a directory that is not here", (), _CONFIG_G2),
                _example("--config config.yaml", False)))
def config_file_not_found(deployment):
    yield from _pod_config_not_found(deployment)
    yield from _config_not_read(deployment)
    if deployment.options.require_files:
        return
    for unit, word, path, kind in _missing_files(deployment):
        if kind != "env":
            checked = f"; the KES config among the inputs was checked with {unit.label}" if deployment.kes else ""
            yield _at_word(unit, word, f"`--config` names {_config_path(word, path, kind)}, which does not exist "
                                       f"here, so kescheck could not check the config {unit.label} starts{checked}",
                           anchor="kes-server:--config")
        elif isinstance(unit, MinioUnit):
            beside = [str(env.source.path) for env in deployment.envs]
            checked = f"; kescheck checked {', '.join(beside)} as MinIO's settings instead" if beside else ""
            yield _at_word(unit, word, f"`EnvironmentFile=` names {path}, which does not exist here, so kescheck could "
                                       f"not check the settings this unit starts MinIO with{checked}",
                           anchor=f"unit:EnvironmentFile={word.text}")
        else:
            yield _at_word(unit, word, f"`EnvironmentFile=` names {path}, which does not exist here, so kescheck does "
                                       f"not know what it adds to the environment this unit starts KES with"
                                       f"{_unknown_environment(deployment)}",
                           anchor=f"unit:EnvironmentFile={word.text}")


@rule("SYS007", "config-file-missing", Severity.ERROR, "A file the unit or container names (its KES config, an "
      "`EnvironmentFile=`) does not exist",
      rationale="""KES reads its config from the file `kes server --config` names and refuses to start when it
      cannot open it (`open FILE: no such file or directory`); systemd does not start the service at all when a
      file its `EnvironmentFile=` names without a leading `-` does not exist (`Failed to load environment files:
      No such file or directory`). kescheck reports this with --require-files (as on the host, and in the doctor);
      otherwise SYS006 notes it.""",
      fix="Install the file where the unit says, correct the path, or (for an environment file that may be absent) "
          "write `EnvironmentFile=-/path`.",
      examples=(_example("--config /etc/kes-kescheck-example/config.yaml", True, config=None,
                         options=(("require_files", True),)),
                _launched("compose.yaml", "services:\n  kes:\n    image: minio/kes\n    command: server --config "
                          "/etc/kes/config.yaml\n    configs: [{source: kes, target: /etc/kes/config.yaml}]\n"
                          "configs:\n  kes: {file: ./kes-kescheck-example.yaml}\n", True,
                          "a Compose config from a file that is not here", (("require_files", True),), _CONFIG_G2),
                _example("--config config.yaml", False, options=(("require_files", True),))))
def config_file_missing(deployment):
    if not deployment.options.require_files:
        return
    for unit, word, path, kind in _missing_files(deployment):
        if kind == "config":
            yield _at_word(unit, word, f"`--config` names {path}, which does not exist: KES refuses to start "
                                       f"(`open {word.text}: no such file or directory`)", anchor="kes-server:--config")
        elif kind == "mounted config":
            yield _at_word(unit, word, f"`--config` names {_config_path(word, path, kind)}, which does not exist: "
                                       f"{unit.label} has no config to start KES with", anchor="kes-server:--config")
        else:
            yield _at_word(unit, word, f"`EnvironmentFile=` names {path}, which does not exist: systemd does not start "
                                       f"{_server(unit)} (`Failed to load environment files: No such file or "
                                       "directory`)", anchor=f"unit:EnvironmentFile={word.text}")
