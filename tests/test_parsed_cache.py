"""The cache of parsed spec files (mobcost/spec/parsed.py): a spec read before is decoded from JSON without
PyYAML, to the same Spec and the same located errors; a damaged entry is parsed again, never trusted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mobcost.errors import SpecError
from mobcost.spec import load_spec
from mobcost.spec import parsed as cache

SPEC = ("name: n\ninput: {channels: 3, size: 32}\nlayers:\n  - {type: conv, out: 8, stride: 2}\n"
        "  - {type: fc, out: 10}\n")
# layers[1].stride is on line 5, column 28 ("stride: 0": the value's own column)
BAD = "name: n\ninput: {channels: 3, size: 32}\nlayers:\n  - {type: conv, out: 8}\n  - {type: dw, stride: 0}\n"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def test_a_cached_parse_gives_the_same_spec(home: Path) -> None:
    path = home / "n.yaml"
    path.write_text(SPEC, encoding="utf-8")
    first = load_spec(path)
    assert len(list(cache.cache_dir().glob("*.json"))) == 1
    assert load_spec(path) == first


def test_a_cached_parse_gives_the_same_located_error(home: Path) -> None:
    path = home / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    messages = []
    for _ in range(2):  # the first parses the YAML (and keeps it: it is valid YAML), the second reads the cache
        with pytest.raises(SpecError) as info:
            load_spec(path)
        messages.append(str(info.value))
    assert messages[0] == messages[1] and ":5:" in messages[0] and "layers[1].stride" in messages[0]


def test_a_damaged_entry_is_parsed_again(home: Path) -> None:
    path = home / "n.yaml"
    path.write_text(SPEC, encoding="utf-8")
    expected = load_spec(path)
    (entry,) = cache.cache_dir().glob("*.json")
    for damage in ("{not json", '{"value": {"input": {"channels": 3}}}', "[]", '{"value": 1, "marks": [[1]]}'):
        entry.write_text(damage, encoding="utf-8")
        assert load_spec(path) == expected, damage


def test_a_spec_read_before_needs_no_yaml(home: Path) -> None:
    path = home / "n.yaml"
    path.write_text(SPEC, encoding="utf-8")
    code = ("import sys\nfrom mobcost.spec import load_spec\nload_spec(sys.argv[1])\n"
            "print('yaml' in sys.modules)")
    env = {**os.environ, "XDG_CACHE_HOME": str(home / "cache")}
    runs = [subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env,
                           timeout=60).stdout.strip() for _ in range(2)]
    assert runs == ["True", "False"]
