import json

import pytest

from modloader import errors
from modloader._commands.base import CommandResult
from modloader._control.protocol import MAX_REQUEST_BYTES
from modloader._control.protocol import ErrorInfo
from modloader._control.protocol import Request
from modloader._control.protocol import Response
from modloader._control.protocol import decode_request
from modloader._control.protocol import decode_response
from modloader._control.protocol import encode
from modloader._control.protocol import error_response
from modloader._control.protocol import negotiate
from modloader._control.protocol import response_from_result
from modloader._control.protocol import result_as_dict
from modloader._control.protocol import result_from_response


@pytest.mark.parametrize(
    "request_",
    [
        Request(op="ping", id=3),
        Request(op="hello", id=1, versions=(1, 2), client="test"),
        Request(op="execute", id=9, line="module show like res_", structured=True),
        Request(op="complete", id=2, line=""),
        Request(op="execute", id=4, line='echo ünïcødé ; "quoted"'),
    ],
    ids=["ping", "hello", "execute", "complete-empty", "unicode"],
)
def test_request_round_trip(request_):
    wire = encode(request_)
    assert wire.endswith(b"\n") and wire.count(b"\n") == 1
    assert decode_request(wire[:-1]) == request_


@pytest.mark.parametrize(
    "response",
    [
        Response(id=1, ok=True, version=1, server="modloader 0.1.0", pid=42),
        Response(id=2, ok=False, exit_code=1, output="a\nb", data={"rows": [1, 2]}, notes=("n",)),
        Response(id=3, ok=True, completions=("load", "loaded")),
        Response(id=0, ok=False, exit_code=1, error=ErrorInfo("protocol", "bad")),
        Response(id=4, ok=True, output="caf\u00e9 \u6f22\u5b57", data={"\u00e9": ["\u2028"]}),
        Response(id=5, ok=True, output="beyond U+FFFF: \U0001f600", notes=("\U0001f600",)),
        Response(id=6, ok=True, output="a backslash before ud: C:\\udir"),
    ],
    ids=["hello", "failed-command", "completions", "error", "non-ascii", "astral", "backslash-ud"],
)
def test_response_round_trip(response):
    assert decode_response(encode(response)[:-1]) == response


def test_defaults_are_left_off_the_wire():
    assert json.loads(encode(Response(id=5, ok=True))) == {"v": 1, "id": 5, "ok": True}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"{not json", "request is not valid JSON"),
        (b"\xff\xfe{}", "request is not valid UTF-8"),
        (b"[1, 2]", "request must be a JSON object, not list"),
        (b'{"op": "ping"}', "request has no protocol version 'v'"),
        (b'{"v": 99, "op": "ping"}', "unsupported protocol version 99; this host speaks 1"),
        (b'{"v": "1", "op": "ping"}', "'v' must be an integer"),
        (b'{"v": 1, "op": "shutdown"}', "unknown request op 'shutdown'"),
        (b'{"v": 1, "op": "execute"}', "'execute' needs a 'line'"),
        (b'{"v": 1, "op": "execute", "line": 5}', "'line' must be a string"),
        (b'{"v": 1, "op": "ping", "id": true}', "'id' must be an integer"),
        (b'{"v": 1, "op": "hello", "versions": ["1"]}', "'versions' must be a list of integers"),
        (b"x" * (MAX_REQUEST_BYTES + 1), f"request line is longer than {MAX_REQUEST_BYTES} bytes"),
    ],
    ids=[
        "not-json",
        "not-utf8",
        "not-object",
        "no-version",
        "unknown-version",
        "version-type",
        "unknown-op",
        "missing-line",
        "line-type",
        "bool-id",
        "versions-type",
        "oversized",
    ],
)
def test_malformed_requests_are_protocol_errors(line, message):
    with pytest.raises(errors.ProtocolError) as info:
        decode_request(line)
    assert str(info.value).startswith(message)
    assert info.value.code == "protocol"


def test_malformed_reply_is_a_protocol_error():
    with pytest.raises(errors.ProtocolError, match="reply is not valid JSON"):
        decode_response(b"<html>")


@pytest.mark.parametrize(
    ("offered", "chosen"), [((1,), 1), ((1, 7), 1), ((7,), None), ((), None)], ids=str
)
def test_negotiate(offered, chosen):
    assert negotiate(offered) == chosen


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (errors.ProtocolError("bad line"), "protocol"),
        (errors.AccessDeniedError("go away"), "access-denied"),
        (errors.NoSuchModuleError("res_x"), "no-such-module"),
        (RuntimeError("oops"), "error"),
    ],
    ids=["protocol", "access", "module", "foreign"],
)
def test_error_response_carries_the_class_code(exc, code):
    response = error_response(7, exc)
    assert response.error is not None
    assert (response.id, response.ok, response.error.code) == (7, False, code)
    assert str(exc) in response.error.message


def test_every_error_class_has_its_own_code():
    classes = [
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, errors.ModLoaderError)
    ]
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), codes


def test_result_round_trip_keeps_data_only_when_structured():
    result = CommandResult(
        line="module show", ok=False, output="text", data=[{"a": 1}], notes=["x"]
    )
    plain = result_from_response("module show", response_from_result(1, result, structured=False))
    rich = result_from_response("module show", response_from_result(1, result, structured=True))
    assert (plain.ok, plain.output, plain.data, plain.exit_code) == (False, "text", None, 1)
    assert rich.data == [{"a": 1}] and rich.notes == ["x"]


def test_unserialisable_data_is_sent_as_text():
    result = CommandResult(line="x", data={"when": object})
    decoded = decode_response(encode(response_from_result(1, result, structured=True))[:-1])
    assert decoded.data == {"when": str(object)}


def test_result_as_dict_is_the_json_form():
    result = CommandResult(line="echo a", output="a", data=["a"])
    assert result_as_dict(result) == {
        "command": "echo a",
        "ok": True,
        "exit_code": 0,
        "output": "a",
        "data": ["a"],
        "notes": [],
    }


def test_the_thin_clients_execute_request_is_the_full_clients() -> None:
    from modloader._control import wire
    from modloader._control.protocol import Request
    from modloader._control.protocol import decode_request
    from modloader._control.protocol import encode

    for line in ("module show", 'say "caf\u00e9"\t\\', "x\udcff"):
        thin = wire.execute_request(line, 7)
        assert thin == encode(Request(op="execute", id=7, line=line))
        if "\udcff" not in line:  # a lone surrogate is refused, not run
            assert decode_request(thin.rstrip(b"\n")) == Request(op="execute", id=7, line=line)
