"""HTTP health probes of the services, with the standard library only."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass(frozen=True)
class Probe:
    """The answer of one health URL: status and body, or why there was none."""

    url: str
    status: int | None
    body: str
    error: str | None

    @property
    def ok(self) -> bool:
        """Whether the service answered 200."""
        return self.status == 200

    def json(self) -> dict[str, object] | None:
        """The body as a JSON object, or None when it is not one."""
        try:
            content = json.loads(self.body)
        except ValueError:
            return None
        return content if isinstance(content, dict) else None

    def describe(self) -> str:
        """One line: the status and a short body, or the connection error."""
        if self.status is None:
            return f"no answer ({self.error})"
        return f"HTTP {self.status} {self.body[:160].strip()}"


def probe(url: str, *, timeout_s: float) -> Probe:
    """GET ``url`` once; refused connections and timeouts become a failed Probe."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"health URL must be http(s), got {url!r}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            return Probe(url, response.status, _text(response.read()), None)
    except urllib.error.HTTPError as exc:
        return Probe(url, exc.code, _text(exc.read()), None)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Probe(url, None, "", str(reason))


def _text(raw: bytes) -> str:
    return raw.decode(errors="replace")
