"""read_modules_conf: includes, sections, directive rules and the problems it reports."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from modloader._config import ModuleEntry
from modloader._config import load_config
from modloader._config import read_modules_conf
from modloader.errors import ConfigError
from modloader.errors import ConfigIssue

Write = Callable[..., Path]


def _kinds(issues: tuple[ConfigIssue, ...]) -> list[tuple[int, str]]:
    return [(i.line, i.kind) for i in issues]


def _names(path: Path) -> list[tuple[str, bool, bool]]:
    return [(e.name, e.required, e.preload) for e in read_modules_conf(path).entries]


# -- sections ---------------------------------------------------------------------------


def test_only_modules_sections_are_read_and_several_are_one(write: Write) -> None:
    path = write(
        "modules.conf",
        "[general]\nload => not_me\nwhatever\n[modules]\nload => a\n"
        "[global]\nchan_modem.so=yes\n[MODULES]\nload => b\nautoload = no\n",
    )
    parsed = read_modules_conf(path)
    assert [e.name for e in parsed.entries] == ["a", "b"]
    assert parsed.autoload is False
    assert parsed.errors == ()


def test_template_suffix_and_trailing_blanks_on_headers(write: Write) -> None:
    path = write("modules.conf", "[modules](!)  \nload => a\n[modules] \nload => b\n")
    assert [e.name for e in read_modules_conf(path).entries] == ["a", "b"]


def test_directive_before_any_section_is_an_error(write: Write) -> None:
    path = write("modules.conf", "noload => a.so\nplain\n[modules]\nload => b\n")
    parsed = read_modules_conf(path)
    assert _kinds(parsed.errors) == [(1, "no-section"), (2, "no-section")]
    assert parsed.errors[0].message == (
        "'noload' is set before any section header (put it under [modules])"
    )


def test_line_without_equal_sign_in_modules_is_a_syntax_error(write: Write) -> None:
    path = write("modules.conf", "[modules]\nload a.so\n")
    (issue,) = read_modules_conf(path).errors
    assert str(issue) == f"{path}:2: Expected 'key = value' or 'key => value', got 'load a.so'"


def test_empty_module_name_is_a_syntax_error(write: Write) -> None:
    path = write("modules.conf", "[modules]\nload =>\n")
    (issue,) = read_modules_conf(path).errors
    assert (issue.kind, issue.message) == ("syntax", "'load' needs a module name")


# -- file encodings ---------------------------------------------------------------------


def test_bom_crlf_tabs_non_ascii_and_no_final_newline(write: Write) -> None:
    data = (
        "\ufeff[modules]\r\n; Кириллица — ü\r\n\tload\t=>\tres_a.so\t; ß\r\nnoload=res_b".encode()
    )
    parsed = read_modules_conf(write("modules.conf", data))
    assert (parsed.errors, parsed.noload) == ((), ("res_b",))
    assert [e.name for e in parsed.entries] == ["res_a.so"]


# -- directives -------------------------------------------------------------------------


def test_merge_keeps_first_spelling_and_position_and_ors_flags(write: Write) -> None:
    path = write(
        "modules.conf",
        "[modules]\nload => RES_A.so\nload => b\npreload => res_a\nrequire => Res_A.SO\n"
        "preload-require => c\nload => C.so\n",
    )
    assert read_modules_conf(path).entries == (
        ModuleEntry("RES_A.so", True, True, str(path), 2),
        ModuleEntry("b", False, False, str(path), 3),
        ModuleEntry("c", True, True, str(path), 6),
    )


def test_noload_wins_whatever_the_order_and_unmatched_noload_is_ignored(write: Write) -> None:
    path = write(
        "modules.conf",
        "[modules]\nnoload => a.so\nload => A\nload => b\nnoload => nothing_here\n",
    )
    parsed = read_modules_conf(path)
    assert ([e.name for e in parsed.entries], parsed.noload) == (["b"], ("a.so", "nothing_here"))
    assert parsed.errors == ()


def test_keys_are_case_insensitive(write: Write) -> None:
    path = write("modules.conf", "[modules]\nAUTOLOAD = No\nPreLoad-Require => a\nNoLoad => b\n")
    parsed = read_modules_conf(path)
    assert (parsed.autoload, _names(path), parsed.noload) == (False, [("a", True, True)], ("b",))


@pytest.mark.parametrize(
    ("word", "value"),
    [
        *[(w, True) for w in ("yes", "TRUE", "y", "T", "1", "On")],
        *[(w, False) for w in ("no", "False", "N", "f", "0", "OFF")],
    ],
)
def test_booleans(write: Write, word: str, value: bool) -> None:
    path = write("modules.conf", f"[modules]\nautoload = {word}\n")
    assert read_modules_conf(path).autoload is value


def test_last_autoload_wins_and_missing_autoload_is_none(write: Write) -> None:
    assert read_modules_conf(write("a.conf", "[modules]\nautoload=no\nautoload=yes\n")).autoload
    assert read_modules_conf(write("b.conf", "[modules]\nload=a\n")).autoload is None


def test_bad_boolean(write: Write) -> None:
    path = write("modules.conf", "[modules]\nautoload = maybe\nautoload =\n")
    parsed = read_modules_conf(path)
    assert _kinds(parsed.errors) == [(2, "bad-bool"), (3, "bad-bool")]
    assert parsed.errors[0].message == (
        "Invalid value 'maybe' for 'autoload': expected yes/true/y/t/1/on "
        "or no/false/n/f/0/off (any case)"
    )


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("lod", "Unknown configuration option 'lod' (did you mean 'load'?)"),
        (
            "preload_require",
            "Unknown configuration option 'preload_require' (did you mean 'preload-require'?)",
        ),
        ("noloads", "Unknown configuration option 'noloads' (did you mean 'noload'?)"),
        ("chan_modem.so", "Unknown configuration option 'chan_modem.so'"),
    ],
)
def test_unknown_option_with_suggestion(
    write: Write, chdir_tmp: Path, key: str, message: str
) -> None:
    write("modules.conf", f"[modules]\nload => a\n{key} = x\n")
    (issue,) = read_modules_conf("modules.conf").errors
    assert str(issue) == f"modules.conf:3: {message}"
    assert issue.kind == "unknown-option"


@pytest.mark.parametrize(
    ("line", "how"),
    [("require => res_a.so", "require"), ("preload-require => res_a.so", "preload-require")],
)
def test_noload_of_a_required_module(write: Write, chdir_tmp: Path, line: str, how: str) -> None:
    write("modules.conf", f"[modules]\nnoload => RES_A\n{line}\n")
    (issue,) = read_modules_conf("modules.conf").errors
    assert issue.kind == "noload-required"
    assert str(issue) == (
        f"modules.conf:2: RES_A is configured with '{how}' and 'noload', this is impossible."
    )


def test_noload_of_a_preloaded_then_required_module_says_preload_require(write: Write) -> None:
    path = write("modules.conf", "[modules]\npreload => a\nrequire => a\nnoload => a\n")
    (issue,) = read_modules_conf(path).errors
    assert (
        issue.message == "a is configured with 'preload-require' and 'noload', this is impossible."
    )


def test_noload_of_a_builtin(write: Write) -> None:
    path = write("modules.conf", "[modules]\nnoload => core_Logger.so\n")
    (issue,) = read_modules_conf(path, builtins=["core_logger"]).errors
    assert (issue.line, issue.kind, issue.message) == (
        2,
        "noload-builtin",
        "core_Logger.so is a built-in module, you cannot specify 'noload'.",
    )


def test_every_error_of_a_file_is_reported_at_once(write: Write) -> None:
    path = write(
        "modules.conf",
        "load => early\n[modules]\nlod => a\nautoload = perhaps\n#exec /bin/true\n"
        "#include missing.conf\nrequire => r\nnoload => r\n[oops\n#pragma once\n",
    )
    parsed = read_modules_conf(path)
    assert _kinds(parsed.errors) == [
        (1, "no-section"),
        (3, "unknown-option"),
        (4, "bad-bool"),
        (5, "exec-refused"),
        (6, "missing-include"),
        (8, "noload-required"),
        (9, "bad-section"),
    ]
    assert _kinds(parsed.warnings) == [(10, "unknown-hash")]
    assert not parsed.ok


# -- # lines ----------------------------------------------------------------------------


def test_exec_is_refused(write: Write, chdir_tmp: Path) -> None:
    write("modules.conf", '[modules]\n#exec "/usr/bin/gen-modules"\n')
    (issue,) = read_modules_conf("modules.conf").errors
    assert str(issue) == (
        "modules.conf:2: '#exec' is refused: modloader never runs programs named in its "
        "configuration (use '#include' with a file instead)"
    )


def test_unknown_hash_line_is_warned_and_skipped(write: Write, chdir_tmp: Path) -> None:
    write("modules.conf", "[modules]\n#noload => res_smdi.so\nload => a\n")
    parsed = read_modules_conf("modules.conf")
    assert [str(w) for w in parsed.warnings] == [
        "modules.conf:2: Unknown directive '#noload' skipped"
    ]
    assert (parsed.errors, parsed.noload, _names(Path("modules.conf"))) == (
        (),
        (),
        [("a", False, False)],
    )


# -- includes ---------------------------------------------------------------------------


def test_include_is_read_in_place_relative_to_the_including_file(write: Write) -> None:
    write("sub/more.conf", "load => b\n#include deeper/last.conf\n")
    write("sub/deeper/last.conf", "load => c\n")
    path = write("modules.conf", '[modules]\nload => a\n#include "sub/more.conf"\nload => d\n')
    parsed = read_modules_conf(path)
    assert [e.name for e in parsed.entries] == ["a", "b", "c", "d"]
    sub = os.path.join(str(path.parent), "sub/more.conf")
    assert parsed.files == (str(path), sub, os.path.join(os.path.dirname(sub), "deeper/last.conf"))
    assert parsed.entries[1].source == sub


def test_angle_bracket_quotes_and_tryinclude(write: Write) -> None:
    write("x.conf", "load => x\n")
    path = write("modules.conf", "[modules]\n#tryinclude <x.conf>\n")
    assert _names(path) == [("x", False, False)]


def test_included_file_continues_the_section_and_its_sections_do_not_leak(write: Write) -> None:
    write("inc.conf", "load => in_modules\n[other]\nload => in_other\n")
    path = write("modules.conf", "[modules]\n#include inc.conf\nload => after\n")
    assert [e.name for e in read_modules_conf(path).entries] == ["in_modules", "after"]


def test_include_outside_a_section_gives_no_section_errors_in_the_included_file(
    write: Write,
) -> None:
    inc = write("inc.conf", "load => a\n")
    path = write("modules.conf", "#include inc.conf\n[modules]\n")
    (issue,) = read_modules_conf(path).errors
    assert (issue.source, issue.line, issue.kind) == (
        os.path.join(str(path.parent), "inc.conf"),
        1,
        "no-section",
    )
    assert inc.exists()


def test_missing_include_is_an_error_missing_tryinclude_is_not(
    write: Write, chdir_tmp: Path
) -> None:
    write("modules.conf", "[modules]\n#tryinclude nothere.conf\n#include nothere.conf\n")
    parsed = read_modules_conf("modules.conf")
    assert [str(i) for i in parsed.errors] == [
        "modules.conf:3: #include 'nothere.conf': no such file (nothere.conf)"
    ]
    assert parsed.errors[0].kind == "missing-include"


def test_a_link_in_a_loop_is_an_error_even_for_tryinclude_a_link_to_nothing_is_missing(
    write: Write, chdir_tmp: Path
) -> None:
    """A loop read as "no such file" (and #tryinclude skipped it); it is there, unreadable."""
    os.symlink("l1", "l2")
    os.symlink("l2", "l1")
    os.symlink("nothing", "dangling")
    write("modules.conf", "[modules]\n#include l1\n#tryinclude l2\n#tryinclude dangling\n")
    parsed = read_modules_conf("modules.conf")
    assert [str(i) for i in parsed.errors] == [
        "modules.conf:2: #include 'l1': Too many levels of symbolic links (l1)",
        "modules.conf:3: #tryinclude 'l2': Too many levels of symbolic links (l2)",
    ]
    with pytest.raises(ConfigError, match="Cannot read 'l1': Too many levels of symbolic links"):
        load_config(path="l1", environ={})


def test_globbed_include_reads_matches_in_sorted_order(write: Write) -> None:
    write("modules.d/20-b.conf", "load => b\n")
    write("modules.d/10-a.conf", "load => a\n")
    write("modules.d/30-c.conf", "load => c\n")
    write("modules.d/ignored.txt", "load => no\n")
    (Path(write("modules.d/10-a.conf", "load => a\n").parent) / "dir.conf").mkdir()
    path = write("modules.conf", '[modules]\n#include "modules.d/*.conf"\n')
    parsed = read_modules_conf(path)
    assert ([e.name for e in parsed.entries], parsed.errors) == (["a", "b", "c"], ())


def test_glob_matching_nothing(write: Write) -> None:
    path = write("modules.conf", "[modules]\n#tryinclude d/*.conf\n#include e/*.conf\n")
    assert _kinds(read_modules_conf(path).errors) == [(3, "missing-include")]


def test_include_cycle_is_an_error(write: Write, chdir_tmp: Path) -> None:
    write("a.conf", "load => a\n#include b.conf\n")
    write("b.conf", "load => b\n#include a.conf\n")
    write("modules.conf", "[modules]\n#include a.conf\n")
    parsed = read_modules_conf("modules.conf")
    assert [e.name for e in parsed.entries] == ["a", "b"]
    (issue,) = parsed.errors
    assert str(issue) == (
        "b.conf:2: #include 'a.conf' includes a file that is already being read: "
        "modules.conf -> a.conf -> b.conf -> a.conf"
    )
    assert issue.kind == "include-cycle"


def test_self_include_is_a_cycle_and_a_diamond_is_not(write: Write) -> None:
    write("common.conf", "load => common\n")
    write("left.conf", "#include common.conf\n")
    path = write(
        "modules.conf",
        "[modules]\n#include left.conf\n#include common.conf\n#include modules.conf\n",
    )
    parsed = read_modules_conf(path)
    assert _kinds(parsed.errors) == [(4, "include-cycle")]
    assert [e.name for e in parsed.entries] == ["common"]


def test_missing_top_file_is_reported_not_raised(tmp_path: Path) -> None:
    parsed = read_modules_conf(tmp_path / "nope.conf")
    assert _kinds(parsed.errors) == [(0, "missing-file")]
    assert parsed.files == ()


def test_directives_keep_order_source_and_line(write: Write) -> None:
    path = write("modules.conf", "[modules]\nload => a ; x\nautoload = no\nnoload => b\n")
    assert [(d.key, d.value, d.line) for d in read_modules_conf(path).directives] == [
        ("load", "a", 2),
        ("autoload", "no", 3),
        ("noload", "b", 4),
    ]
