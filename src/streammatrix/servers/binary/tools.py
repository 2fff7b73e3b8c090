"""Running a fetch tool (pip, apt-get, dpkg): a failure becomes one ProviderError carrying the
tool's own error lines and a hint; :class:`SourceUnreachable` when the network is to blame."""

from __future__ import annotations

import subprocess
from pathlib import Path

from streammatrix.errors import ProviderError


class SourceUnreachable(ProviderError):
    """PyPI or the Debian archive could not be reached: the network, not the source, is wrong."""


_UNREACHABLE = (
    "Temporary failure resolving",
    "Could not resolve",
    "Could not connect",
    "Connection timed out",
    "Connection failed",
    "Network is unreachable",
    "NewConnectionError",
    "Max retries exceeded",
    "Could not fetch URL",
    "ProxyError",
    "ReadTimeoutError",
)


def run_tool(
    argv: list[str], *, origin: str, what: str, hint: str = "", cwd: Path | None = None
) -> None:
    """Run a fetch step; a failure becomes one ProviderError with the tool's own error lines."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=900)
    except FileNotFoundError:
        raise ProviderError(not_here(argv[0], origin)) from None
    if done.returncode == 0:
        return
    output = done.stderr + done.stdout
    errors = [ln.strip() for ln in output.splitlines() if ln.startswith(("E:", "ERROR:"))]
    detail = "; ".join(dict.fromkeys(errors)) or output.strip()[-800:] or f"exit {done.returncode}"
    if "does not have a Release file" in output:
        hint = "is the suite name right? the Debian mirror has no such suite"
    elif "NO_PUBKEY" in output:
        hint = "the Debian archive keyring (package debian-archive-keyring) is not on this machine"
    elif "Unable to locate package" in output:
        hint = "is the package name right, and is the package in that suite?"
    error = SourceUnreachable if any(m in output for m in _UNREACHABLE) else ProviderError
    raise error(f"{origin}: {what} failed: {detail}" + (f" ({hint})" if hint else ""))


def not_here(tool: str, origin: str) -> str:
    return (
        f"{origin}: {tool} is not on this machine; Debian sources and `libs:` need apt-get and "
        "dpkg (a Debian or Ubuntu machine): run this server with the docker provider "
        "(--provider docker), or give it a pypi source in matrix.yaml"
    )
