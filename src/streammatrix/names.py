"""The shapes of names that reach a command line or a file name, checked in full.

matrix.yaml is checked against these when it is loaded, and the tools that pass a name on
(apt-get, pip, uv) check it again, so a value can never be read as an option, a URL or a path.
Each rule matches the whole text: ``re.fullmatch``, never ``$``, which also accepts a
trailing newline.
"""

from __future__ import annotations

import re

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

# A server or client name (cell ids and file names are made of these) and a module name.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# What joins the parts of a cell id (server--client--pyX.Y): never inside a name, so that two
# cells of different names can never share an id.
ID_SEPARATOR = "--"
MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Debian Policy 5.6.1 (a package name has two characters at least) and a suite such as
# bookworm-backports.
DEBIAN_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+")
DEBIAN_SUITE = re.compile(r"[a-z0-9-]+")
# PEP 508's name: letters and digits, with '.', '_' and '-' inside.
DISTRIBUTION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


def id_part_problem(text: str) -> str | None:
    """Why ``text`` cannot be a part of a cell id (it holds the separator), or None."""
    if ID_SEPARATOR in text:
        return (
            f"{text!r} contains {ID_SEPARATOR!r}, which separates the parts of a cell id "
            f"(server{ID_SEPARATOR}client{ID_SEPARATOR}pyX.Y): write a single '-'"
        )
    return None


def release_name(package: str, version: object) -> str:
    """The client name of one release of a range row (``redis-4.3.6``)."""
    return f"{package}-{version}"


def release_named(name: str, package: str) -> str | None:
    """The version whose release of ``package`` is called ``name`` (its text), or None."""
    prefix = release_name(package, "")
    return name[len(prefix) :] if name.startswith(prefix) else None


def debian_problem(text: str) -> str | None:
    """Why ``text`` is not ``NAME/SUITE`` of plain Debian names, or None if it is."""
    name, slash, suite = text.partition("/")
    if not DEBIAN_PACKAGE.fullmatch(name):
        return (
            f"{name!r} is not a Debian package name (lowercase letters, digits, '+', '-' and "
            "'.', starting with a letter or digit)"
        )
    if not slash:
        return f"{text!r} names no suite: write {name}/SUITE"
    if not DEBIAN_SUITE.fullmatch(suite):
        return (
            f"{suite!r} is not a Debian suite name (lowercase letters, digits and '-', as in "
            "bookworm-backports)"
        )
    return None


def requirement_problem(text: str) -> str | None:
    """Why ``text`` is not a plain PyPI requirement (``name[extras]specifiers``), or None.

    No URL, no environment marker, no whitespace at either end, no leading '-': what pip is
    given is a name and versions from the index, nothing it could read as an option or a path.
    """
    if text != text.strip() or not text:
        return f"{text!r} has whitespace at its start or end"
    if text.startswith("-"):
        return f"{text!r} starts with '-' (it would be read as an option)"
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        return f"{text!r} is not a pip requirement ({exc})"
    if requirement.url:
        return f"{text!r} names a URL: give a name and versions from the index"
    if requirement.marker is not None:
        return f"{text!r} has an environment marker: give a name and versions only"
    if not DISTRIBUTION.fullmatch(requirement.name):
        return f"{requirement.name!r} is not a distribution name"
    return None


def distribution_problem(text: str) -> str | None:
    """Why ``text`` is not a distribution name (PEP 503/508), or None."""
    if DISTRIBUTION.fullmatch(text):
        return None
    return f"{text!r} is not a distribution name (letters, digits, '.', '_' and '-')"


def specifier_problem(text: str) -> str | None:
    """Why ``text`` is not a PEP 440 specifier set (``>=5,<6``), or None."""
    if text != text.strip():
        return f"{text!r} has whitespace at its start or end"
    try:
        specifiers = SpecifierSet(text)
    except InvalidSpecifier:
        return f"{text!r} is not a pip version specifier (e.g. 5.0.1, 5.0.*, >=5,<6)"
    return _unreadable_version(specifiers)


def _unreadable_version(specifiers: SpecifierSet) -> str | None:
    """Each version is read only when compared: one too long for int() (4300 digits) would
    raise then, in the middle of a run."""
    for specifier in specifiers:
        try:
            specifier.contains("0", prereleases=True)
        except ValueError:
            return f"{str(specifier)[:40]!r}...: a version number too long to read"
    return None


def range_problem(text: str) -> str | None:
    """Why the version range of a selector (``>=7`` of ``redis>=7``) cannot be read, or None."""
    try:
        specifiers = SpecifierSet(text)
    except InvalidSpecifier:
        return "not a valid version range"
    problem = _unreadable_version(specifiers)
    return f"not a valid version range ({problem})" if problem else None
