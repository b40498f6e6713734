"""Issue 19, class 4 for rig presets: "repeat" is bounded before anything is expanded (3000000
repeats took 2.9 GB), and malformed preset JSON of any shape is one PresetError line (no
AttributeError or OverflowError traceback). Presets are bpy-free, so this runs in the core
suite."""
from __future__ import annotations

import json

import pytest

from hostile_files import peak_in_child
from timar_blender.errors import PresetError
from timar_blender.rig.preset import MAX_REPEAT, load_preset_file

GOOD_ENTRY = {"name": "Exp{n}", "weights": {"exp{n}": 1.0}}


def write(tmp_path, data, name="p.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_a_repeat_within_the_bound_expands(tmp_path):
    preset = load_preset_file(write(tmp_path, {"shape_keys": [dict(GOOD_ENTRY, repeat=50)]}))
    assert [t.name for t in preset.shape_keys][:2] == ["Exp1", "Exp2"] and len(preset.shape_keys) == 50


@pytest.mark.parametrize("repeat", [3_000_000, MAX_REPEAT + 1, -1, "50", 2.5, True, 1e300])
def test_a_repeat_out_of_bounds_is_refused_before_expanding(repeat, tmp_path):
    with pytest.raises(PresetError, match=r'"repeat" must be a whole number from 0 to 1000'):
        load_preset_file(write(tmp_path, {"shape_keys": [dict(GOOD_ENTRY, repeat=repeat)]}))


def test_three_million_repeats_take_no_memory(tmp_path):
    path = write(tmp_path, {"shape_keys": [dict(GOOD_ENTRY, repeat=3_000_000)]})
    growth, _, seconds, outcome = peak_in_child(
        "from timar_blender.rig.preset import load_preset_file", f"load_preset_file({str(path)!r})")
    assert outcome.startswith("PresetError") and growth < 100 and seconds < 0.5, outcome


MALFORMED = {
    "not json": "{shape_keys: [",
    "a list": [1, 2],
    "entry not an object": {"shape_keys": [1]},
    "shape_keys an object": {"shape_keys": {"name": "x"}},
    "bone not an object": {"bones": [1]},
    "bone without source": {"bones": [{"name": "jaw"}]},
    "blink a number": {"shape_keys": [GOOD_ENTRY | {"name": "a", "weights": {}}], "blink": 5},
    "blink keys a number": {"shape_keys": [{"name": "a"}], "blink": {"shape_keys": 5}},
    "eyes bones of numbers": {"shape_keys": [{"name": "a"}], "eyes": {"bones": [1, 2]}},
    "slider_range a number": {"shape_keys": [{"name": "a"}], "slider_range": 5},
    "correctives a number": {"shape_keys": [{"name": "a"}], "correctives": 5},
    "clamp of one": {"shape_keys": [{"name": "a", "clamp": [1]}]},
    "weight not a number": {"shape_keys": [{"name": "a", "weights": {"exp1": "x"}}]},
    "unknown channel": {"shape_keys": [{"name": "a", "weights": {"exp99": 1}}]},
    "infinite offset": '{"shape_keys": [{"name": "a", "offset": Infinity, "repeat": Infinity}]}',
    "nested 100000 deep": "[" * 100_000 + "]" * 100_000,
    "not UTF-8": None,
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_preset_json_is_one_line(case, tmp_path):
    if case == "not UTF-8":
        path = tmp_path / "p.json"
        path.write_bytes(b'{"name": "\xff\xfe"}')
    else:
        path = write(tmp_path, MALFORMED[case])
    with pytest.raises(PresetError) as info:
        load_preset_file(path)
    assert str(info.value).startswith("p.json: invalid rig mapping (") and "\n" not in str(info.value)
