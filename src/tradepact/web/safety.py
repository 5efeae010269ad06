"""Safe handling of what a client sends: size limits, YAML without aliases or tags, no file paths.

Everything here raises :class:`InputError` carrying the request field (``loc``) it is about,
which the app turns into a 422 response naming that field.
"""
from __future__ import annotations

import re
from typing import Any

import yaml

from tradepact.errors import TradepactError

#: Largest scenario accepted, as text or upload (bytes of UTF-8).
MAX_SCENARIO_BYTES = 256 * 1024

#: Keys a client may not set in a scenario: they would make the server read a file of the
#: client's choosing. Scenarios sent to the web API use built-in data only.
PATH_KEYS = re.compile(r"^(data|file|files|path|paths|dir|directory|store|[a-z_]*_(path|file|dir))$", re.I)


class InputError(TradepactError):
    """Bad client input: ``loc`` names the field (e.g. ``("body", "scenario_text")``); answered with 422."""

    def __init__(self, loc: tuple[str, ...], message: str):
        super().__init__(message)
        self.loc = tuple(loc)
        self.message = message


class _NoAliasSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also refuses anchors/aliases (no "billion laughs")."""

    def compose_node(self, parent, index):  # noqa: D401 - PyYAML hook
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not accepted", event.start_mark)
        return super().compose_node(parent, index)


def parse_scenario_yaml(text: str, loc: tuple[str, ...]) -> dict[str, Any]:
    """Parse a scenario's YAML text safely; returns the mapping.

    Refuses: more than :data:`MAX_SCENARIO_BYTES`, non-UTF-8, YAML errors, aliases, custom
    tags (safe loader), documents that are not a mapping, and keys that name files
    (:data:`PATH_KEYS`) anywhere in the document.
    """
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_SCENARIO_BYTES:
        raise InputError(loc, f"scenario is {size} bytes; the limit is {MAX_SCENARIO_BYTES} bytes")
    if "\x00" in text:
        raise InputError(loc, "scenario text contains a NUL byte")
    try:
        doc = yaml.load(text, Loader=_NoAliasSafeLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise InputError(loc, f"not valid YAML{at}: {' '.join(str(getattr(exc, 'problem', None) or exc).split())}") from None
    except RecursionError:
        raise InputError(loc, "YAML nested too deeply") from None
    if not isinstance(doc, dict):
        raise InputError(loc, f"expected a YAML mapping (name: ..., changes: ...), got {type(doc).__name__}")
    _refuse_paths(doc, "", loc)
    return doc


_BUILTIN = re.compile(r"^builtin:[A-Za-z0-9_-]+$")  # built-in data sets, e.g. builtin:korus
_FILEISH = re.compile(r"[/\\~:]|\.[A-Za-z0-9]{1,8}$")


def _names_a_file(value: Any) -> bool:
    """True if ``value`` (or any string inside it) looks like a file path rather than a built-in name."""
    if isinstance(value, str):
        v = value.strip()
        return not _BUILTIN.match(v) and bool(_FILEISH.search(v))
    if isinstance(value, dict):
        return any(_names_a_file(v) for v in value.values())
    if isinstance(value, list):
        return any(_names_a_file(v) for v in value)
    return False


def _refuse_paths(node: Any, where: str, loc: tuple[str, ...], depth: int = 0) -> None:
    if depth > 50:
        raise InputError(loc, "YAML nested too deeply")
    if isinstance(node, dict):
        for k, v in node.items():
            key = str(k)
            here = f"{where}.{key}" if where else key
            if PATH_KEYS.match(key) and _names_a_file(v):
                raise InputError(loc, f"field '{here}' names a file; scenarios sent to the dashboard "
                                      "must use built-in data (no file paths from the client)")
            _refuse_paths(v, here, loc, depth + 1)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _refuse_paths(v, f"{where}[{i}]", loc, depth + 1)


def decode_upload(data: bytes, loc: tuple[str, ...]) -> str:
    """UTF-8 text of an uploaded file within the size limit."""
    if len(data) > MAX_SCENARIO_BYTES:
        raise InputError(loc, f"upload is {len(data)} bytes; the limit is {MAX_SCENARIO_BYTES} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(loc, "upload is not UTF-8 text") from None
