"""The control socket's wire format: versioned JSON lines (SPEC 7).

One JSON object per line, UTF-8, ``\\n``-terminated, in each direction. Every
request carries ``v`` (the protocol version it is written in) and an ``id``
that the reply echoes::

    -> {"v": 1, "id": 1, "op": "hello", "versions": [1], "client": "modloader 0.1.0"}
    <- {"v": 1, "id": 1, "ok": true, "version": 1, "server": "modloader 0.1.0", "pid": 4242}
    -> {"v": 1, "id": 2, "op": "execute", "line": "module show", "structured": true}
    <- {"v": 1, "id": 2, "ok": true, "exit_code": 0, "output": "Module ...", "data": [...]}
    -> {"v": 1, "id": 3, "op": "complete", "line": "module lo"}
    <- {"v": 1, "id": 3, "ok": true, "completions": ["load"]}
    -> {"v": 1, "id": 4, "op": "ping"}
    <- {"v": 1, "id": 4, "ok": true}

A request the host cannot carry out gets ``ok: false`` and an ``error`` whose
``code`` is the ``code`` of a :mod:`modloader.errors` class::

    <- {"v": 1, "id": 0, "ok": false, "error": {"code": "protocol", "message": "..."}}

A command that ran and failed is not an error of the protocol: its reply has
``ok: false``, ``exit_code: 1`` and the command's output, and no ``error``.

Version 2 adds the remote console's log. A client whose ``hello`` agreed on
version 2 may send ``subscribe`` (written in version 2); from its reply on,
the host also sends that connection the lines of its log, as they happen,
as *events*: objects with an ``event`` and no ``id``, never a reply::

    -> {"v": 2, "id": 5, "op": "subscribe", "verbose": 1, "debug": 0, "mute": false}
    <- {"v": 2, "id": 5, "ok": true, "data": {"verbose": 1, "debug": 0, "mute": false}}
    <- {"v": 2, "event": "log", "level": 20, "text": "[Nov 27 10:00:00] INFO[modloader]: ..."}
    <- {"v": 2, "event": "dropped", "count": 120}

``dropped`` stands where lines were lost because the console read too
slowly. On a subscribed connection, ``core set verbose N``, ``core set debug
N`` and ``logger mute`` set that console's own filter. A version-1 request
never gets an event: ``-rx`` is request and reply only, with any host.

Named tuples and :mod:`json` only: the remote client imports this module
and must stay thin (no pydantic).
"""

from __future__ import annotations

import json
from typing import Any
from typing import Final
from typing import NamedTuple

from modloader._commands.base import CommandResult
from modloader._control.wire import MAX_RESPONSE_BYTES
from modloader._control.wire import PROTOCOL_VERSION
from modloader.errors import ModLoaderError
from modloader.errors import ProtocolError

__all__ = [
    "LOG_VERSION",
    "MAX_REQUEST_BYTES",
    "MAX_RESPONSE_BYTES",
    "OPS",
    "PROTOCOL_VERSION",
    "SUPPORTED_VERSIONS",
    "ErrorInfo",
    "Event",
    "Request",
    "Response",
    "decode_message",
    "decode_request",
    "decode_response",
    "encode",
    "error_response",
    "negotiate",
    "request_id",
    "response_from_result",
    "result_as_dict",
    "result_from_response",
]

#: The version that adds ``subscribe`` and the log events of a remote console.
LOG_VERSION: Final = 2
#: Every version this side understands (a host answers requests in any of them).
SUPPORTED_VERSIONS: Final = (1, 2)
#: The longest request line a host accepts, newline excluded.
MAX_REQUEST_BYTES: Final = 64 * 1024
#: The requests a host answers.
OPS: Final = frozenset({"hello", "ping", "execute", "complete", "subscribe"})
#: The requests that need a version at least this high.
_OP_VERSIONS: Final = {"subscribe": LOG_VERSION}


class Request(NamedTuple):
    """One request from a client."""

    #: ``hello``, ``ping``, ``execute`` or ``complete``.
    op: str
    #: Echoed in the reply, so a client can match them.
    id: int = 0
    #: The command line, for ``execute`` and ``complete``.
    line: str = ""
    #: ``execute``: also send the command's structured form (``data``).
    structured: bool = False
    #: ``hello``: the versions the client speaks.
    versions: tuple[int, ...] = ()
    #: ``hello``: who is asking, for the host's log.
    client: str = ""
    #: ``subscribe``: the console's verbose level (0: warnings and errors only).
    verbose: int = 0
    #: ``subscribe``: the console's debug level (0: no debug lines).
    debug: int = 0
    #: ``subscribe``: no log lines at all until unmuted.
    mute: bool = False
    #: The protocol version this request is written in.
    v: int = PROTOCOL_VERSION

    def to_json(self) -> dict[str, Any]:
        """The wire form (fields at their defaults are left out)."""
        obj: dict[str, Any] = {"v": self.v, "id": self.id, "op": self.op}
        if self.op in ("execute", "complete"):
            obj["line"] = self.line
        if self.op == "subscribe":
            obj.update(verbose=self.verbose, debug=self.debug, mute=self.mute)
        if self.structured:
            obj["structured"] = True
        if self.versions:
            obj["versions"] = list(self.versions)
        if self.client:
            obj["client"] = self.client
        return obj


class ErrorInfo(NamedTuple):
    """Why a request could not be carried out."""

    #: The ``code`` of a :mod:`modloader.errors` class (``protocol``, ``access-denied`` ...).
    code: str
    message: str


class Response(NamedTuple):
    """One reply from the host."""

    #: The request's ``id`` (0 when the request could not be read).
    id: int
    #: The request succeeded (for ``execute``: the command succeeded).
    ok: bool
    #: ``execute``: the text rendering.
    output: str = ""
    #: ``execute`` with ``structured``: the structured form.
    data: Any = None
    #: ``execute``: the command's exit status (0 or 1).
    exit_code: int = 0
    #: ``execute``: extra lines the command logged.
    notes: tuple[str, ...] = ()
    #: ``complete``: the candidates for the last word.
    completions: tuple[str, ...] = ()
    #: ``hello``: the version the host chose.
    version: int = 0
    #: ``hello``: who answers (``"modloader 0.1.0"``).
    server: str = ""
    #: ``hello``: the host's process id.
    pid: int = 0
    #: Set when the request could not be carried out.
    error: ErrorInfo | None = None
    #: The protocol version this reply is written in.
    v: int = PROTOCOL_VERSION

    def to_json(self) -> dict[str, Any]:
        """The wire form (fields at their defaults are left out)."""
        obj: dict[str, Any] = {"v": self.v, "id": self.id, "ok": self.ok}
        for key in ("output", "exit_code", "version", "server"):
            if value := getattr(self, key):
                obj[key] = value
        if self.data is not None:
            obj["data"] = self.data
        for key in ("notes", "completions"):
            if value := getattr(self, key):
                obj[key] = list(value)
        if self.pid:
            obj["pid"] = self.pid
        if self.error is not None:
            obj["error"] = {"code": self.error.code, "message": self.error.message}
        return obj


class Event(NamedTuple):
    """A line the host sends a subscribed console unasked (version 2).

    ``log``: one line of the host's log (``text``, at ``level``);
    ``dropped``: ``count`` lines were lost here, the console read too slowly.
    """

    event: str
    level: int = 0
    text: str = ""
    count: int = 0  # type: ignore[assignment]  # a field, as on the wire (not tuple.count)
    v: int = LOG_VERSION

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"v": self.v, "event": self.event}
        if self.event == "dropped":
            obj["count"] = self.count
        else:
            obj.update(level=self.level, text=self.text)
        return obj


def encode(message: Request | Response | Event) -> bytes:
    """One line of UTF-8 JSON, newline included.

    Structured data that JSON cannot represent is sent as its ``str()`` rather
    than failing the whole reply: the operator still gets the text. Text of a
    reply that UTF-8 cannot hold (a lone surrogate, from bytes that were not
    valid UTF-8) is sent written out, as ``\\udcff``, so every reply can be sent.
    """
    obj = message.to_json()
    if isinstance(message, Request):
        # Requests are written in ASCII: a lone surrogate travels as its escape, and
        # the host refuses it rather than running a command that is not what was typed.
        return json.dumps(obj, separators=(",", ":"), default=str).encode("ascii") + b"\n"
    text = json.dumps(obj, separators=(",", ":"), default=str)
    # json writes ASCII fastest (a reply is most often ASCII; other text travels as escapes,
    # read back the same). Only a surrogate's escape, of a character beyond U+FFFF or of a
    # lone surrogate that is to be written out, takes the way below.
    if "\\ud" not in text:
        return text.encode("ascii") + b"\n"
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        text = json.dumps(_scrub(obj), ensure_ascii=False, separators=(",", ":"), default=str)
        return text.encode("utf-8", "backslashreplace") + b"\n"


def _scrub(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings written out as ``\\udcff``."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return _scrub(str(value))


def _load(line: bytes, what: str, limit: int) -> dict[str, Any]:
    if len(line) > limit:
        raise ProtocolError(f"{what} line is longer than {limit} bytes")
    try:
        obj = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"{what} is not valid UTF-8 ({exc.reason})") from exc
    except ValueError as exc:
        raise ProtocolError(f"{what} is not valid JSON ({exc})") from exc
    except RecursionError:
        raise ProtocolError(f"{what} is nested too deeply") from None
    if not isinstance(obj, dict):
        raise ProtocolError(f"{what} must be a JSON object, not {type(obj).__name__}")
    return obj


def _get(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = obj.get(key, default)
    # bool is an int in Python but not in this protocol.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ProtocolError(f"'{key}' must be {_KIND_NAMES.get(kind, 'valid')}")
    return value


_KIND_NAMES: Final[dict[Any, str]] = {
    int: "an integer",
    str: "a string",
    bool: "true or false",
    list: "a list",
}


def decode_request(line: bytes) -> Request:
    """Read one request line (without its newline); :class:`ProtocolError` if malformed."""
    obj = _load(line, "request", MAX_REQUEST_BYTES)
    v = _get(obj, "v", int, None) if "v" in obj else None
    if v is None:
        raise ProtocolError("request has no protocol version 'v'")
    if v not in SUPPORTED_VERSIONS:
        raise ProtocolError(
            f"unsupported protocol version {v}; this host speaks "
            + ", ".join(str(s) for s in SUPPORTED_VERSIONS)
        )
    op = _get(obj, "op", str, "")
    if op not in OPS:
        raise ProtocolError(f"unknown request op '{op}' (expected one of {', '.join(sorted(OPS))})")
    if v < _OP_VERSIONS.get(op, 1):
        raise ProtocolError(f"'{op}' needs protocol version {_OP_VERSIONS[op]} (say hello first)")
    levels = {key: _get(obj, key, int, 0) for key in ("verbose", "debug")}
    if any(n < 0 for n in levels.values()):
        raise ProtocolError("'verbose' and 'debug' must not be negative")
    versions = _get(obj, "versions", list, [])
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in versions):
        raise ProtocolError("'versions' must be a list of integers")
    line_text = _get(obj, "line", str, "")
    if op in ("execute", "complete") and "line" not in obj:
        raise ProtocolError(f"'{op}' needs a 'line'")
    client = _get(obj, "client", str, "")
    for key, text in (("line", line_text), ("client", client)):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # A \udcff escape decodes to a lone surrogate: no character, no command.
            raise ProtocolError(
                f"'{key}' holds bytes that are not UTF-8 text (sent as a lone surrogate); "
                "nothing was run"
            ) from None
    return Request(
        op=op,
        id=_get(obj, "id", int, 0),
        line=line_text,
        structured=_get(obj, "structured", bool, False),
        versions=tuple(versions),
        client=client,
        mute=_get(obj, "mute", bool, False),
        v=v,
        **levels,
    )


def request_id(line: bytes) -> int:
    """The ``id`` of a request line that was refused, so its error reply can carry it (else 0)."""
    if len(line) > MAX_REQUEST_BYTES:
        return 0
    try:
        obj = json.loads(line.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return 0
    value = obj.get("id") if isinstance(obj, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def decode_message(line: bytes) -> Response | Event:
    """Read one line from the host: a reply, or (version 2) an event."""
    obj = _load(line, "reply", MAX_RESPONSE_BYTES)
    if "event" in obj:
        return Event(
            event=_get(obj, "event", str, ""),
            level=_get(obj, "level", int, 0),
            text=_get(obj, "text", str, ""),
            count=_get(obj, "count", int, 0),
            v=_get(obj, "v", int, LOG_VERSION),
        )
    return _response(obj)


def decode_response(line: bytes) -> Response:
    """Read one reply line (without its newline); :class:`ProtocolError` if malformed."""
    return _response(_load(line, "reply", MAX_RESPONSE_BYTES))


def _response(obj: dict[str, Any]) -> Response:
    error = obj.get("error")
    info: ErrorInfo | None = None
    if error is not None:
        if not isinstance(error, dict):
            raise ProtocolError("'error' must be an object")
        info = ErrorInfo(
            code=str(error.get("code", ModLoaderError.code)), message=str(error.get("message", ""))
        )
    notes = _get(obj, "notes", list, [])
    completions = _get(obj, "completions", list, [])
    return Response(
        id=_get(obj, "id", int, 0),
        ok=_get(obj, "ok", bool, False),
        output=_get(obj, "output", str, ""),
        data=obj.get("data"),
        exit_code=_get(obj, "exit_code", int, 0),
        notes=tuple(str(n) for n in notes),
        completions=tuple(str(c) for c in completions),
        version=_get(obj, "version", int, 0),
        server=_get(obj, "server", str, ""),
        pid=_get(obj, "pid", int, 0),
        error=info,
        v=_get(obj, "v", int, PROTOCOL_VERSION),
    )


def negotiate(offered: tuple[int, ...]) -> int | None:
    """The highest version both sides speak (``None`` when there is none)."""
    common = set(offered) & set(SUPPORTED_VERSIONS)
    return max(common) if common else None


def error_response(request_id: int, exc: BaseException) -> Response:
    """The reply for a request that failed with ``exc``.

    A :class:`~modloader.errors.ModLoaderError` sends its own ``code``; anything
    else is reported as the root code ``error`` with the exception's type.
    """
    if isinstance(exc, ModLoaderError):
        info = ErrorInfo(code=exc.code, message=exc.message)
    else:
        info = ErrorInfo(code=ModLoaderError.code, message=f"{type(exc).__name__}: {exc}")
    return Response(id=request_id, ok=False, exit_code=1, error=info)


def response_from_result(request_id: int, result: CommandResult, structured: bool) -> Response:
    """The reply carrying one command's result."""
    return Response(
        id=request_id,
        ok=result.ok,
        output=result.output,
        data=result.data if structured else None,
        exit_code=result.exit_code,
        notes=tuple(result.notes),
    )


def result_from_response(line: str, response: Response) -> CommandResult:
    """The :class:`CommandResult` a reply stands for; a protocol error becomes a failed result."""
    if response.error is not None:
        return CommandResult(line=line, ok=False, output=response.error.message)
    return CommandResult(
        line=line,
        ok=response.ok and response.exit_code == 0,
        output=response.output,
        data=response.data,
        notes=list(response.notes),
    )


def result_as_dict(result: CommandResult) -> dict[str, Any]:
    """The structured form ``--json`` prints (the same locally and remotely)."""
    return {
        "command": result.line,
        "ok": result.ok,
        "exit_code": result.exit_code,
        "output": result.output,
        "data": result.data,
        "notes": list(result.notes),
    }
