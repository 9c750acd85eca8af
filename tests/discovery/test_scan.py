"""scan_group: entry points from metadata, and a cache that never serves a stale answer."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from modloader import _cachestore
from modloader._discovery import scan as scan_mod
from modloader._discovery.scan import CACHE_KIND
from modloader._discovery.scan import scan_group
from tests._hostile import within

GROUP = "myapp.modules"


@pytest.fixture(autouse=True)
def cache_dir(tmp_path_factory, monkeypatch):
    """A fresh cache folder per test, switched on."""
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("MODLOADER_CACHE_DIR", str(folder))
    monkeypatch.delenv("MODLOADER_NO_CACHE", raising=False)
    return folder


@pytest.fixture
def trust_fresh_files(monkeypatch):
    """Trust signatures at once, so that a test sees the signature check and nothing else.

    By default a file changed in the last few seconds is read again on every call
    (see ``RACY_NS``), which would hide a broken signature.
    """
    monkeypatch.setattr(scan_mod, "RACY_NS", 0)


@pytest.fixture
def site(tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    return folder


@pytest.fixture
def reads(monkeypatch):
    """The metadata folders whose entry_points.txt each scan reads."""
    seen: list[str] = []
    real = scan_mod._read_text

    def spy(path):
        seen.append(Path(path).parent.name)
        return real(path)

    monkeypatch.setattr(scan_mod, "_read_text", spy)
    return seen


def make_dist(
    where: Path,
    name: str,
    version: str = "1.0",
    eps: dict[str, dict[str, str]] | None = None,
    summary: str = "A module",
    suffix: str = ".dist-info",
) -> Path:
    """A metadata folder as an installer leaves it (``eps``: group -> {name: value})."""
    stem = name.replace("-", "_")
    folder = where / (f"{stem}-{version}{suffix}" if suffix == ".dist-info" else f"{stem}{suffix}")
    folder.mkdir()
    meta = "METADATA" if suffix == ".dist-info" else "PKG-INFO"
    (folder / meta).write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n\nBody.\n"
    )
    if eps is not None:
        text = "".join(
            f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in items.items()) + "\n"
            for group, items in eps.items()
        )
        (folder / "entry_points.txt").write_text(text)
    return folder


def plugin(where: Path, name: str, version: str = "1.0", **kw) -> Path:
    module = name.replace("-", "_")
    return make_dist(where, name, version, {GROUP: {module: f"{module}:Module"}}, **kw)


def rows(path, group=GROUP, **kw):
    return [
        (c.name, c.value, c.dist_name, c.version, c.summary)
        for c in scan_group(group, path=[str(p) for p in path], **kw)
    ]


def names(path, **kw):
    return [row[0] for row in rows(path, **kw)]


def rewrite_same_size(path: Path, old: str, new: str) -> None:
    """Edit a file in place to text of the same size, keeping its mtime (only ctime moves)."""
    assert len(old) == len(new)
    before = path.stat()
    time.sleep(0.02)  # past the file system's clock tick, so that ctime differs
    text = path.read_text()
    assert old in text
    with open(path, "r+") as fh:  # in place: same inode
        fh.write(text.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )


# -- what is found ------------------------------------------------------------------------------


def test_reads_name_version_summary_and_every_entry_point(site):
    make_dist(
        site,
        "Res-Hello",
        "2.1",
        {GROUP: {"res_hello": "res_hello:Module", "app_echo": "app_echo"}, "other": {"x": "y"}},
        summary="Says hello",
    )
    make_dist(site, "unrelated", eps={"console_scripts": {"tool": "tool:main"}})
    make_dist(site, "bare")
    assert rows([site]) == [
        ("res_hello", "res_hello:Module", "Res-Hello", "2.1", "Says hello"),
        ("app_echo", "app_echo", "Res-Hello", "2.1", "Says hello"),
    ]
    [cand] = scan_group("other", path=[str(site)])
    assert (cand.group, cand.module_name, cand.publisher) == ("other", "y", "Res-Hello 2.1")


def test_imports_no_plugin_code(site):
    make_dist(site, "boom", eps={GROUP: {"boom": "scan_boom_plugin:Module"}})
    (site / "scan_boom_plugin.py").write_text("raise RuntimeError('imported')\n")
    assert names([site]) == ["boom"]
    assert "scan_boom_plugin" not in sys.modules


def test_entry_points_file_parsed_as_importlib_metadata_does(site, tmp_path):
    folder = make_dist(site, "odd")
    (folder / "entry_points.txt").write_text(
        textwrap.dedent(
            f"""\
            # a comment
            [{GROUP}]
              spaced   =   pkg.mod : Attr [extra]
            # skipped = no
            plain=pkg

            [not.{GROUP}]
            other = x
            """
        )
    )
    plugin(site, "second")
    make_dist(tmp_path, "elsewhere", eps={GROUP: {"late": "late"}}, suffix=".egg-info")
    path = [site, tmp_path]
    ours = [(c.name, c.value, c.dist_name, c.version) for c in scan_group(GROUP, path=path)]
    theirs = [
        (ep.name, ep.value, dist.metadata["Name"], dist.version)
        for dist in importlib.metadata.distributions(path=[str(p) for p in path])
        for ep in dist.entry_points
        if ep.group == GROUP
    ]
    assert sorted(ours) == sorted(theirs)
    assert [row[:2] for row in ours] == [
        ("spaced", "pkg.mod : Attr [extra]"),
        ("plain", "pkg"),
        ("second", "second:Module"),
        ("late", "late"),
    ]


def test_matches_importlib_metadata_on_this_interpreter():
    for group in ("console_scripts", "pytest11"):
        ours = sorted((c.name, c.value, c.dist_name, c.version) for c in scan_group(group))
        theirs = sorted(
            (
                ep.name,
                ep.value,
                ep.dist.name if ep.dist else None,
                ep.dist.version if ep.dist else None,
            )
            for ep in importlib.metadata.entry_points(group=group)
        )
        assert ours == theirs, group


def test_metadata_folder_suffix_in_any_case(site):
    # importlib.metadata compares the suffix case-insensitively; so do we.
    upper = plugin(site, "loud")
    upper.rename(site / "loud-1.0.DIST-INFO")
    mixed = make_dist(site, "eggy", eps={GROUP: {"eggy": "eggy"}}, suffix=".egg-info")
    mixed.rename(site / "eggy.Egg-Info")
    (site / "not-metadata").mkdir()  # a "-" and no suffix: not a distribution
    (site / "also_not.dist-infos").mkdir()
    ours = sorted((c.name, c.value, c.dist_name) for c in scan_group(GROUP, path=[str(site)]))
    theirs = sorted(
        (ep.name, ep.value, dist.metadata["Name"])
        for dist in importlib.metadata.distributions(path=[str(site)])
        for ep in dist.entry_points
        if ep.group == GROUP
    )
    assert ours == theirs == [("eggy", "eggy", "eggy"), ("loud", "loud:Module", "loud")]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("file", ["entry_points.txt", "METADATA"])
def test_a_fifo_in_a_metadata_folder_is_not_waited_on(site, file):
    # A FIFO opened for reading waits for a writer: a damaged or hostile site
    # must not hang discovery (importlib.metadata does wait).
    plugin(site, "fine")
    odd = plugin(site, "odd")
    (odd / file).unlink()
    os.mkfifo(odd / file)
    found = within(10, lambda: names([site]))
    # No entry points: the distribution publishes nothing; no metadata: no name.
    assert found == (["fine"] if file == "entry_points.txt" else ["fine", "odd"])
    assert within(10, lambda: names([site])) == found  # and again, through the cache


def test_a_device_in_a_metadata_folder_is_not_read(site):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    plugin(site, "fine")
    odd = plugin(site, "odd")
    (odd / "entry_points.txt").unlink()
    (odd / "entry_points.txt").symlink_to("/dev/zero")  # endless: never read
    assert within(10, lambda: names([site])) == ["fine"]


def test_an_entry_points_file_larger_than_any_real_one_is_not_read(
    site, monkeypatch, caplog, trust_fresh_files
):
    monkeypatch.setattr(scan_mod, "MAX_ENTRY_POINTS_CHARS", 200)
    plugin(site, "fine")
    huge = plugin(site, "huge")
    eps = huge / "entry_points.txt"
    eps.write_text(eps.read_text() + "# padding\n" * 40)  # a damaged one: 400 characters more
    with caplog.at_level(logging.WARNING, logger="modloader"):
        assert names([site]) == ["fine"]
    assert f"{eps} is longer than 200 characters: damaged" in caplog.text
    # Its signature is kept: mended in place, it is read again.
    eps.write_text(f"[{GROUP}]\nhuge = huge:Module\n")
    assert names([site]) == ["fine", "huge"]


def test_a_line_without_an_equals_sign_in_the_group_is_named_and_skipped(
    site, caplog, trust_fresh_files
):
    """importlib.metadata raises on such a line (TypeError), so the publisher's
    module would silently be missing: the log says which line of which file."""
    folder = make_dist(site, "careless")
    eps = folder / "entry_points.txt"
    eps.write_text(f"[other]\nalso broken\n[{GROUP}]\nres_fine = fine:M\nres_broken broken:M\n")
    with caplog.at_level(logging.WARNING, logger="modloader"):
        assert names([site]) == ["res_fine"]
        assert names([site]) == ["res_fine"]  # warm: read once, said once
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        f"{eps}:5: 'res_broken broken:M' in [{GROUP}] is not an entry point (it has no '='); "
        "ignored"
    ]


def test_an_entry_points_file_that_is_not_utf8_is_named(site, caplog, trust_fresh_files):
    """Undecodable bytes before the section's header hid it: the module was missing,
    and nothing said why (importlib.metadata raises on the file)."""
    folder = make_dist(site, "garbled")
    eps = folder / "entry_points.txt"
    eps.write_bytes(b"\xff\xfe[" + GROUP.encode() + b"]\nres_garbled = garbled:M\n")
    with caplog.at_level(logging.WARNING, logger="modloader"):
        assert names([site]) == []
    assert [r.getMessage() for r in caplog.records] == [
        f"{eps} is not valid UTF-8 (importlib.metadata cannot read it): what it publishes "
        f"in [{GROUP}] may be missing here"
    ]


def test_a_metadata_header_block_is_read_only_so_far(site, monkeypatch):
    monkeypatch.setattr(scan_mod, "MAX_HEADER_CHARS", 300)
    folder = plugin(site, "long")
    (folder / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: long\nVersion: 2.0\nSummary: " + "x" * 5000 + "\n\nBody\n"
    )
    assert rows([site]) == [("long", "long:Module", "long", "2.0", None)]


def test_first_distribution_on_the_path_wins(tmp_path, trust_fresh_files):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    plugin(first, "dup", "1.0", summary="first")
    plugin(second, "dup", "2.0", summary="second")
    make_dist(first, "shadow")  # no entry points, yet it hides the later one's
    plugin(second, "shadow", "9.0")
    assert rows([first, second]) == [("dup", "dup:Module", "dup", "1.0", "first")]
    assert rows([second, first]) == [
        ("dup", "dup:Module", "dup", "2.0", "second"),
        ("shadow", "shadow:Module", "shadow", "9.0", "A module"),
    ]
    # Removing the first exposes the second, even though the second's folder did not change.
    shutil.rmtree(first / "dup-1.0.dist-info")
    assert rows([first, second])[0] == ("dup", "dup:Module", "dup", "2.0", "second")


def test_egg_info_of_a_source_tree(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    make_dist(project, "devmod", eps={GROUP: {"devmod": "devmod:Module"}}, suffix=".egg-info")
    assert rows([project]) == [("devmod", "devmod:Module", "devmod", "1.0", "A module")]


def test_zip_on_the_path(tmp_path):
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped-1.0.dist-info/METADATA", "Name: zipped\nVersion: 1.0\nSummary: Z\n\n")
        zf.writestr("zipped-1.0.dist-info/entry_points.txt", f"[{GROUP}]\nzipped = zipped\n")
    assert rows([archive]) == [("zipped", "zipped", "zipped", "1.0", "Z")]
    assert rows([archive]) == [("zipped", "zipped", "zipped", "1.0", "Z")]  # from the cache


def test_missing_and_unreadable_entries_are_skipped(site, tmp_path):
    plugin(site, "fine")
    (site / "broken-1.0.dist-info").write_text("a file, not a folder")
    assert names([tmp_path / "absent", site, ""]) == ["fine"]


# -- the cache ----------------------------------------------------------------------------------


def test_warm_call_reads_no_distribution(site, reads, trust_fresh_files):
    for index in range(5):
        plugin(site, f"mod{index}")
    make_dist(site, "tool", eps={"console_scripts": {"t": "t:main"}})
    cold = rows([site])
    assert len(reads) == 6
    reads.clear()
    assert rows([site]) == cold
    assert reads == []
    assert len(_cachestore.entries(CACHE_KIND)) == 1


def test_a_changed_distribution_is_the_only_one_read_again(site, reads, trust_fresh_files):
    for index in range(5):
        plugin(site, f"mod{index}")
    rows([site])
    reads.clear()
    ep_file = site / "mod3-1.0.dist-info" / "entry_points.txt"
    rewrite_same_size(ep_file, "mod3:Module", "mod3:Modulf")
    assert ("mod3", "mod3:Modulf") in [r[:2] for r in rows([site])]
    assert reads == ["mod3-1.0.dist-info"]


def test_sees_an_install(site, trust_fresh_files):
    plugin(site, "one")
    assert names([site]) == ["one"]
    plugin(site, "two")
    assert names([site]) == ["one", "two"]


def test_sees_a_removal(site, trust_fresh_files):
    plugin(site, "one")
    folder = plugin(site, "two")
    assert names([site]) == ["one", "two"]
    shutil.rmtree(folder)
    assert names([site]) == ["one"]


def test_sees_an_upgrade(site, trust_fresh_files):
    old = plugin(site, "mod", "1.0")
    assert rows([site])[0][3] == "1.0"
    shutil.rmtree(old)
    plugin(site, "mod", "1.1")
    assert rows([site])[0][3] == "1.1"


def test_sees_a_reinstall_of_the_same_version(site, trust_fresh_files):
    """Same folder name, same sizes, same mtimes: only inode or ctime tells."""
    old = plugin(site, "mod")
    times = {f.name: f.stat().st_mtime_ns for f in old.iterdir()}
    assert rows([site])[0][1] == "mod:Module"
    shutil.rmtree(old)
    time.sleep(0.02)
    new = make_dist(site, "mod", eps={GROUP: {"mod": "mod:Modulf"}})
    for f in new.iterdir():
        os.utime(f, ns=(times[f.name], times[f.name]))
    assert rows([site])[0][1] == "mod:Modulf"


def test_sees_an_edit_of_an_editable_install(tmp_path, trust_fresh_files):
    """A legacy editable install: the egg-info in the source tree is rewritten in place."""
    project = tmp_path / "project"
    project.mkdir()
    info = make_dist(
        project, "devmod", eps={GROUP: {"devmod": "devmod:Aaaaaa"}}, suffix=".egg-info"
    )
    assert rows([project])[0][1] == "devmod:Aaaaaa"
    rewrite_same_size(info / "entry_points.txt", "devmod = devmod:Aaaaaa", "devmoe = devmod:Bbbbbb")
    assert rows([project])[0][:2] == ("devmoe", "devmod:Bbbbbb")


def test_sees_a_metadata_edit(site, trust_fresh_files):
    folder = plugin(site, "mod", summary="Old summary")
    assert rows([site])[0][4] == "Old summary"
    rewrite_same_size(folder / "METADATA", "Old summary", "New summary")
    assert rows([site])[0][4] == "New summary"


def test_sees_entry_points_added_to_a_distribution_without_them(site, trust_fresh_files):
    folder = make_dist(site, "late")
    assert names([site]) == []
    (folder / "entry_points.txt").write_text(f"[{GROUP}]\nlate = late\n")
    assert names([site]) == ["late"]


def test_sees_a_new_path_entry(tmp_path, site, trust_fresh_files):
    plugin(site, "one")
    later = tmp_path / "later"
    assert names([site, later]) == ["one"]
    later.mkdir()
    plugin(later, "two")
    assert names([site, later]) == ["one", "two"]


def test_fresh_files_are_read_again_until_old_enough(site, cache_dir):
    """Within one clock tick a rewrite can keep every stat field: such records are not trusted."""
    folder = plugin(site, "mod")
    assert rows([site])[0][1] == "mod:Module"
    [cache_file] = _cachestore.entries(CACHE_KIND)
    [slot] = json.loads(cache_file.read_text())["entries"]
    [record] = slot[3]
    assert record[1] is True  # racy: read again next time
    ep_file = folder / "entry_points.txt"
    before = ep_file.stat()
    ep_file.write_text(ep_file.read_text().replace("mod:Module", "mod:Modulf"))
    os.utime(ep_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert rows([site])[0][1] == "mod:Modulf"


def test_sees_a_distribution_installed_while_the_process_runs(site, tmp_path):
    """One process, the default sys.path: no answer is memoized in the process."""
    plugin(site, "early")
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from modloader._discovery.scan import scan_group
        site = Path({str(site)!r})
        print(sorted(c.name for c in scan_group({GROUP!r})))
        info = site / "late-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Name: late\\nVersion: 1.0\\n\\n")
        (info / "entry_points.txt").write_text("[{GROUP}]\\nlate = late\\n")
        print(sorted(c.name for c in scan_group({GROUP!r})))
        """
    )
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["['early']", "['early', 'late']"]


def test_sys_path_is_read_at_call_time(tmp_path, monkeypatch):
    extra = tmp_path / "extra"
    extra.mkdir()
    plugin(extra, "added")
    assert "added" not in [c.name for c in scan_group(GROUP)]
    monkeypatch.syspath_prepend(str(extra))
    assert "added" in [c.name for c in scan_group(GROUP)]


def test_damaged_cache_is_ignored(site, trust_fresh_files):
    plugin(site, "one")
    expected = rows([site])
    [cache_file] = _cachestore.entries(CACHE_KIND)
    good = cache_file.read_text()
    damages = [
        lambda v: v["entries"][0][3][0].__setitem__(3, ["x"]),  # a plugin of the wrong shape
        lambda v: v["entries"][0][3][0].__setitem__(3, 5),
        lambda v: v["entries"][0].__setitem__(3, []),  # records out of step with names
        lambda v: v["entries"][0].__setitem__(2, "one-1.0.dist-info"),
        lambda v: v.__setitem__("entries", [7]),
    ]
    for damage in damages:
        value = json.loads(good)
        damage(value)
        cache_file.write_text(json.dumps(value))
        assert rows([site]) == expected
    cache_file.write_text("{not json")
    assert rows([site]) == expected


def test_concurrent_scanners_leave_a_sound_cache(site, tmp_path):
    for index in range(20):
        plugin(site, f"mod{index:02d}")
    script = textwrap.dedent(
        f"""
        from modloader._discovery.scan import scan_group
        for _ in range(15):
            found = [c.name for c in scan_group({GROUP!r}, path=[{str(site)!r}])]
            assert [n for n in found if n != "extra"] == ["mod%02d" % i for i in range(20)], found
        print("ok")
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    for _ in range(5):  # change the environment under them, forcing rewrites
        extra = plugin(site, "extra")
        time.sleep(0.02)
        shutil.rmtree(extra)
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0]
    assert outs == ["ok\n"] * 4
    [cache_file] = _cachestore.entries(CACHE_KIND)
    json.loads(cache_file.read_text())
    assert not list(cache_file.parent.glob(".tmp-*"))
    assert names([site]) == [f"mod{i:02d}" for i in range(20)]


# -- switching it off, inspecting, clearing -----------------------------------------------------


@pytest.mark.parametrize(
    "how", ["env", "disable-file", "argument"], ids=["MODLOADER_NO_CACHE", ".disable", "use_cache"]
)
def test_cache_off_writes_nothing_and_still_answers(site, cache_dir, monkeypatch, how):
    plugin(site, "one")
    kw = {}
    if how == "env":
        monkeypatch.setenv("MODLOADER_NO_CACHE", "1")
    elif how == "disable-file":
        (cache_dir / ".disable").touch()
    else:
        kw["use_cache"] = False
    assert names([site], **kw) == ["one"]
    plugin(site, "two")
    assert names([site], **kw) == ["one", "two"]
    assert names([site], wanted="two", **kw) == ["two"]  # module load: that name's alone
    assert names([site], wanted="three", **kw) == []
    assert not (cache_dir / CACHE_KIND).exists()


def test_inspect_and_clear(site, reads, trust_fresh_files):
    plugin(site, "one")
    rows([site])
    rows([site], group="other.group")
    assert len(_cachestore.entries(CACHE_KIND)) == 2  # one file per group and path
    assert _cachestore.clear(CACHE_KIND) == 2
    assert _cachestore.entries(CACHE_KIND) == []
    reads.clear()
    assert names([site]) == ["one"]
    assert reads == ["one-1.0.dist-info"]  # read afresh after clearing


def test_sees_the_group_added_in_place_to_other_entry_points(site, trust_fresh_files):
    folder = make_dist(site, "tool", eps={"console_scripts": {"tool": "tool:main"}})
    assert names([site]) == []
    # "[console_scripts]" and "[myapp.modules]\n#" have the same length.
    rewrite_same_size(folder / "entry_points.txt", "[console_scripts]", f"[{GROUP}]\n#")
    assert rows([site]) == [("tool", "tool:main", "tool", "1.0", "A module")]


# -- one name (module load) ---------------------------------------------------------------------


def test_one_name_is_answered_as_the_whole_scan_answers_it(site, trust_fresh_files):
    for index in range(3):
        plugin(site, f"mod{index}")
    make_dist(site, "both", eps={GROUP: {"MOD1.so": "both:Module", "other": "both:Other"}})
    whole = rows([site])
    assert rows([site], wanted="mod1") == [r for r in whole if r[0] in ("mod1", "MOD1.so")]
    assert rows([site], wanted="nothing") == []


def test_one_name_reads_only_what_it_depends_on(site, reads, trust_fresh_files):
    for index in range(5):
        plugin(site, f"mod{index}")
    rows([site])
    plugin(site, "fresh")
    for index in range(5):  # edited in place: only a whole scan looks
        ep_file = site / f"mod{index}-1.0.dist-info" / "entry_points.txt"
        rewrite_same_size(ep_file, f"mod{index}:Module", f"mod{index}:Modulf")
    reads.clear()
    assert names([site], wanted="fresh") == ["fresh"]  # a new distribution is read
    assert rows([site], wanted="mod2")[0][1] == "mod2:Modulf"  # the one that publishes it
    assert sorted(set(reads)) == ["fresh-1.0.dist-info", "mod2-1.0.dist-info"]
    assert [r[1] for r in rows([site])][:2] == ["fresh:Module", "mod0:Modulf"]


def test_one_name_sees_a_second_publisher_installed_since(site, trust_fresh_files):
    plugin(site, "mod")
    rows([site])
    make_dist(site, "rival", eps={GROUP: {"mod": "rival:Module"}})
    assert [r[2] for r in rows([site], wanted="mod")] == ["mod", "rival"]
