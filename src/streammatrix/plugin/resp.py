"""Just enough of the Redis protocol to ask a server whether it is up and what it is.

Kept free of any client library on purpose: readiness checks and the version probe must work
the same with redis-py, valkey-py, or no client installed at all.
"""

from __future__ import annotations

import socket


def _command(host: str, port: int, *args: str, timeout: float = 1.0) -> bytes:
    payload = f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(a.encode())}\r\n{a}\r\n".encode() for a in args
    )
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(payload)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if _complete(data):
                break
    return data


def _complete(data: bytes) -> bool:
    if data[:1] in (b"+", b"-", b":"):
        return data.endswith(b"\r\n")
    if data[:1] == b"$":
        head, _, rest = data.partition(b"\r\n")
        size = int(head[1:])
        return size < 0 or len(rest) >= size + 2
    return False


def responsive(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when the server at host:port answers PING with PONG (readiness check)."""
    try:
        return _command(host, port, "PING", timeout=timeout).startswith(b"+PONG")
    except OSError:
        return False


def call(host: str, port: int, *args: str, timeout: float = 2.0) -> str:
    """The reply to one command whose answer is a status or a bulk string, as text; an error
    reply raises ConnectionError carrying the server's words."""
    reply = _command(host, port, *args, timeout=timeout)
    if reply.startswith(b"-"):
        raise ConnectionError(reply[1:].decode(errors="replace").strip())
    head, _, body = reply.partition(b"\r\n")
    return (body if head.startswith(b"$") else head[1:]).decode(errors="replace").strip()


def info(host: str, port: int, section: str = "server", timeout: float = 2.0) -> dict[str, str]:
    """The fields of INFO <section> as a dict of strings."""
    reply = _command(host, port, "INFO", section, timeout=timeout)
    if reply.startswith(b"-"):
        raise ConnectionError(reply[1:].decode(errors="replace").strip())
    _, _, body = reply.partition(b"\r\n")
    fields: dict[str, str] = {}
    for line in body.decode(errors="replace").splitlines():
        if line and not line.startswith("#") and ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def server_identity(fields: dict[str, str]) -> tuple[str, str, str]:
    """(name, own version, redis_version) from INFO server fields.

    Valkey reports ``redis_version:7.2.4`` for compatibility; its own version is
    ``valkey_version`` (and ``server_name:valkey``).
    """
    redis_version = fields.get("redis_version", "")
    if "valkey_version" in fields or fields.get("server_name") == "valkey":
        return "valkey", fields.get("valkey_version", redis_version), redis_version
    return fields.get("server_name", "redis") or "redis", redis_version, redis_version
