"""What both clients of the control socket share, importable at no cost.

The full client (:mod:`modloader._control.client`, over
:mod:`modloader._control.protocol`) and the thin ``-rx`` path
(:mod:`modloader._cli.rx`) frame requests and read replies by what is here;
so do the folder and peer checks of :mod:`modloader._control.paths`. Nothing
here imports :mod:`json`, :mod:`socket` or :mod:`dataclasses`: the thin path
must start in about the time Python itself takes.
"""

from __future__ import annotations

__all__ = [
    "CLOSED",
    "MAX_RESPONSE_BYTES",
    "PROTOCOL_VERSION",
    "REPLY_TIMEOUT",
    "execute_request",
    "no_reply",
    "unable_to_connect",
]

#: The version a client writes.
PROTOCOL_VERSION = 1
#: The longest reply line a client accepts (``module show`` of a big host fits easily).
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
#: What a client says when the host hangs up without a reply.
CLOSED = "the host closed the connection without a reply (it may be stopping)"
#: Seconds ``-rx`` waits for a reply unless ``--timeout`` says otherwise, whatever the
#: socket and the output: a host that hangs (or is stopped) must not hang scripts.
REPLY_TIMEOUT = 60.0


def unable_to_connect(prog: str, path: str) -> str:
    """Asterisk's words when no host listens (``asterisk -rx`` says ``remote asterisk``),
    with no ``prog:`` before them, as Asterisk prints them."""
    return f"Unable to connect to remote {prog} (does {path} exist?)"


def no_reply(seconds: float | None) -> str:
    """What a client says when the host did not answer within ``seconds``."""
    return f"no reply from the host within {seconds or 0:g} s"


def execute_request(line: str, request_id: int) -> bytes:
    """The request line that runs the command ``line`` (text reply only), newline included.

    ASCII, as :func:`modloader._control.protocol.encode` writes every request:
    a lone surrogate travels as its escape and the host refuses it.
    """
    from _json import encode_basestring_ascii  # json's C encoder, without json's imports

    text = (
        f'{{"v":{PROTOCOL_VERSION},"id":{int(request_id)},"op":"execute",'
        f'"line":{encode_basestring_ascii(line)}}}\n'
    )
    return text.encode("ascii")
