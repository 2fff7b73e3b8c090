"""Pulling a server's image from a registry, and the one error when that cannot be done.

The engine's pull progress is passed on line by line, without the per-chunk events; an image
that is not present and cannot be pulled becomes :class:`ImageUnavailable`, which says how to
get it without a registry when the entry has a ``binary:`` source.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import docker
import requests
from docker.errors import DockerException

from streammatrix.errors import ProviderError

if TYPE_CHECKING:
    from streammatrix.config.model import ServerSpec

_PULL_CHATTER = ("Downloading", "Extracting", "Waiting", "Verifying Checksum")  # per-chunk events


class ImageUnavailable(ProviderError):
    """A server's image is not present locally and could not be pulled."""

    def __init__(self, spec: ServerSpec, image: str, reason: str) -> None:
        hint = (
            "build it offline with `nox -s images`"
            if spec.binary
            else "make a registry reachable, or give the entry a `binary:` source"
        )
        super().__init__(
            f"server {spec.name!r}: image {image} is not present and could not be pulled "
            f"({reason}); {hint}"
        )
        self.spec = spec
        self.image = image


def pull(
    client: docker.DockerClient, spec: ServerSpec, image: str, progress: Callable[[str], None]
) -> None:
    """Pull ``image`` for ``spec``, telling ``progress`` how it goes; ImageUnavailable if not."""
    repository, tag = docker.utils.parse_repository_tag(image)
    progress(f"pulling {image} for server {spec.name!r}")
    try:
        for event in client.api.pull(repository, tag=tag or "latest", stream=True, decode=True):
            if "error" in event:
                raise ImageUnavailable(spec, image, str(event["error"]).strip())
            status = event.get("status", "")
            if status and status not in _PULL_CHATTER:
                item = f"{event['id']}: " if event.get("id") else ""
                progress(f"{image}: {item}{status}")
    except (DockerException, requests.RequestException) as exc:
        reason = getattr(exc, "explanation", None) or str(exc)
        raise ImageUnavailable(spec, image, str(reason).strip()) from exc
