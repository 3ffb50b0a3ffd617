"""Whether the user a systemd unit runs its server as may read a file: the permission bits of the file and of every
directory above it, for the unit's `User=`, `Group=`, the user's groups and `SupplementaryGroups=`, as the kernel
checks them. Only on a host whose user database knows the user; an answer it cannot give (an ACL, a user unknown
here, `DynamicUser=`, an ambient capability that reads any file) is None, never a guess."""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

_READ, _SEARCH = 4, 1


@dataclass(frozen=True)
class ServiceUser:
    name: str
    uid: int
    gids: frozenset[int]


def service_user(unit) -> ServiceUser | None:
    """The user the unit's `User=` names, with its groups, when this host's user database knows it and it is not
    root; None otherwise (no `User=` runs the service as root; `DynamicUser=` picks a user at start; with
    `CAP_DAC_OVERRIDE` or `CAP_DAC_READ_SEARCH` among its ambient capabilities the user reads any file)."""
    import grp
    import pwd

    name = unit.setting("User")
    if not name or "%" in name or unit.enabled("DynamicUser") or _may_read_any_file(unit):
        return None
    try:
        entry = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
        group = unit.setting("Group")
        primary = (grp.getgrgid(int(group)) if group.isdigit() else grp.getgrnam(group)).gr_gid if group \
            else entry.pw_gid
        members = {g.gr_gid for g in grp.getgrall() if entry.pw_name in g.gr_mem}
        extra = {grp.getgrnam(g).gr_gid for g in unit.listed("SupplementaryGroups")}
    except (KeyError, ValueError, OverflowError):
        return None
    if entry.pw_uid == 0:
        return None
    return ServiceUser(entry.pw_name, entry.pw_uid, frozenset({primary} | members | extra))


_READ_ANY_FILE = frozenset({"CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH"})
"""Capabilities with which the kernel skips the read and search permission checks of files and directories."""


def _may_read_any_file(unit) -> bool:
    """`AmbientCapabilities=` may give the service a capability that reads any file: a line naming one, or a `~` line
    (every capability but those listed) that leaves one out, after the last empty assignment (which resets the
    set). A `CapabilityBoundingSet=` that removes it again is not looked at: the answer errs toward not judging."""
    may = False
    for key, value in unit.settings:
        if key != "AmbientCapabilities":
            continue
        words = value.upper().split()  # systemd reads capability names in any case
        if not words:
            may = False
        elif words[0].startswith("~"):
            may = may or not _READ_ANY_FILE <= {words[0][1:], *words[1:]}
        else:
            may = may or bool(_READ_ANY_FILE & set(words))
    return may


def unreadable(path: Path, user: ServiceUser) -> str | None:
    """Why `user` cannot read the file (or list the directory) at `path`, or None when it can or that is not known
    here (the path does not exist, or it or a directory above it has an ACL)."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    for directory in reversed(target.parents):
        why = _denied(directory, user, _SEARCH, "enter")
        if why != "":
            return why
    try:
        wanted = _READ | _SEARCH if stat.S_ISDIR(os.stat(target).st_mode) else _READ
    except OSError:
        return None
    return _denied(target, user, wanted, "read") or None


def _denied(path: Path, user: ServiceUser, wanted: int, verb: str) -> str | None:
    """"" when `user` has the permission bits `wanted` on `path`; why not otherwise; None when it cannot be known."""
    try:
        info = os.stat(path)
        if _has_acl(path):
            return None
    except OSError:
        return None
    if info.st_uid == user.uid:
        granted, whose = (info.st_mode >> 6) & 7, "the owner's"
    elif info.st_gid in user.gids:
        granted, whose = (info.st_mode >> 3) & 7, "its group's"
    else:
        granted, whose = info.st_mode & 7, "other users'"
    if granted & wanted == wanted:
        return ""
    mode = stat.filemode(info.st_mode)
    return f"{path} is {mode} ({_owner(info)}), and {whose} permissions do not let {user.name} {verb} it"


def _has_acl(path: Path) -> bool:
    try:
        os.getxattr(path, "system.posix_acl_access")
        return True
    except OSError:
        return False


def _owner(info: os.stat_result) -> str:
    import grp
    import pwd

    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = str(info.st_uid)
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    return f"{owner}:{group}"
