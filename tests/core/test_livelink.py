"""Live Link Face CSV takes (model_core.face.livelink, livelink_motion, head_angles): the
head-angle convention, write -> read round trips, a take in the real app's layout and its
variants, broken files, and a take as a head's given motion."""
from __future__ import annotations

import numpy as np
import pytest

from model_core.constants import JAW, NECK
from model_core.errors import LiveLinkError, MotionFileError, TimarError
from model_core.face.channels import (ARKIT_DIM, ARKIT_INDEX, ARKIT_NAMES, FACE_DIM,
                                      face_from_flame, jaw_rad_from_open)
from model_core.face.head_angles import (axis_angle_to_matrix, neck_to_yaw_pitch_roll,
                                         yaw_pitch_roll_to_neck)
from model_core.face.livelink import (CSV_ARKIT_COLUMNS, HEADER, LiveLinkTake, format_timecode,
                                      read_livelink_csv, write_livelink_csv)
from model_core.face.flame import write_motion_npz
from model_core.face.livelink_motion import head_from_take, take_from_head
from model_core.face.motion_files import load_head_motion, load_motion

PRECISION = 5e-7          # the CSV's 6 decimals, half a unit of the last one
F32_PRECISION = 6e-7      # the same once stored as float32 (motion, face frames)


def random_head(frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    motion = rng.normal(0, 0.3, (frames, 56)).astype(np.float32)
    motion[:, NECK] = rng.uniform(-0.5, 0.5, (frames, 3))
    face = rng.uniform(0, 1, (frames, FACE_DIM)).astype(np.float32)
    return motion, face


# -- the head-angle convention ------------------------------------------------------------------

def test_each_angle_is_a_rotation_about_its_own_axis():
    a = 0.3
    assert np.allclose(neck_to_yaw_pitch_roll(np.array([[0, a, 0]])), [[a, 0, 0]])   # about up
    assert np.allclose(neck_to_yaw_pitch_roll(np.array([[a, 0, 0]])), [[0, a, 0]])   # left-right
    assert np.allclose(neck_to_yaw_pitch_roll(np.array([[0, 0, a]])), [[0, 0, a]])   # the nose
    # pitch > 0 is a nod down: the face's normal (+z) turns towards -y.
    normal = axis_angle_to_matrix(yaw_pitch_roll_to_neck(np.array([[0, a, 0]])))[0] @ [0, 0, 1]
    assert normal[1] < -0.2
    # yaw > 0 turns the face towards its own left (+x).
    normal = axis_angle_to_matrix(yaw_pitch_roll_to_neck(np.array([[a, 0, 0]])))[0] @ [0, 0, 1]
    assert normal[0] > 0.2


def test_neck_and_yaw_pitch_roll_convert_both_ways():
    rng = np.random.default_rng(1)
    neck = rng.uniform(-0.8, 0.8, (500, 3))
    back = yaw_pitch_roll_to_neck(neck_to_yaw_pitch_roll(neck))
    assert np.abs(back - neck).max() < 1e-9
    assert np.abs(yaw_pitch_roll_to_neck(np.zeros((3, 3)))).max() == 0.0


# -- writing and reading our own takes --------------------------------------------------------

def test_written_take_has_the_apps_layout(tmp_path):
    motion, face = random_head(30)
    path = tmp_path / "t.csv"
    write_livelink_csv(path, take_from_head(motion, face))
    lines = path.read_text().splitlines()
    assert lines[0].split(",") == list(HEADER)
    assert lines[0].startswith("Timecode,BlendShapeCount,EyeBlinkLeft,EyeLookDownLeft,")
    assert ",JawForward,JawRight,JawLeft,JawOpen,MouthClose,MouthFunnel,MouthPucker,MouthRight," \
           "MouthLeft,MouthSmileLeft," in lines[0]
    assert lines[0].endswith(",TongueOut,HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,LeftEyePitch,"
                             "LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll")
    assert len(lines) == 31 and all(len(r.split(",")) == 63 for r in lines[1:])
    assert lines[1].startswith("00:00:00:00.000,61,") and lines[26].startswith("00:00:01:00.000,61,")
    assert format_timecode(25 * 3725 + 7, 25) == "01:02:05:07.000"
    # Column JawOpen holds the face frame's jawOpen, rounded to 6 decimals.
    row = lines[5].split(",")
    assert float(row[2 + CSV_ARKIT_COLUMNS.index("JawOpen")]) == pytest.approx(
        face[4, ARKIT_INDEX["jawOpen"]], abs=PRECISION)


def test_write_read_round_trip(tmp_path):
    motion, face = random_head(80, seed=2)
    take = take_from_head(motion, face)
    write_livelink_csv(tmp_path / "t.csv", take)
    back = read_livelink_csv(tmp_path / "t.csv")
    assert back.fps == 25 and back.missing == [] and back.skipped_frames == 0
    assert np.abs(back.times - np.arange(80) / 25).max() < 1e-9
    assert np.abs(back.arkit - face[:, :ARKIT_DIM]).max() < PRECISION
    assert np.abs(back.head - take.head).max() < PRECISION
    assert np.abs(back.eyes).max() == 0.0
    motion_back, face_back = head_from_take(back)
    assert motion_back.shape == (80, 56) and face_back.shape == (80, FACE_DIM)
    assert np.abs(motion_back[:, NECK] - motion[:, NECK]).max() < 1e-5
    assert np.abs(face_back[:, :ARKIT_DIM] - face[:, :ARKIT_DIM]).max() < F32_PRECISION
    assert np.allclose(motion_back[:, JAW.start],
                       jaw_rad_from_open(face_back[:, ARKIT_INDEX["jawOpen"]]), atol=1e-6)
    assert np.abs(motion_back[:, :50]).max() == 0.0


def test_a_head_without_face_frames_writes_what_flame_implies(tmp_path):
    motion, _ = random_head(25, seed=3)
    motion[:, JAW.start] = np.linspace(0, 0.5, 25)
    write_livelink_csv(tmp_path / "t.csv", take_from_head(motion))
    back = read_livelink_csv(tmp_path / "t.csv")
    assert np.abs(back.arkit - face_from_flame(motion)[:, :ARKIT_DIM]).max() < PRECISION
    assert back.arkit[-1, ARKIT_INDEX["jawOpen"]] == 1.0          # 0.5 rad is past full open
    others = np.delete(back.arkit, ARKIT_INDEX["jawOpen"], axis=1)
    assert np.abs(others).max() == 0.0


# -- a take as the app writes it ----------------------------------------------------------------

APP_COLUMNS = ",".join(HEADER)


def app_take(path, rows: int = 90, start="20:09:43:06", fps=60, lose_face_at=(40,),
             newline="\r\n", bom=True, trailing_comma=True):
    """A take in the app's layout: 60 fps, PascalCase, CRLF, a byte order mark, a trailing
    comma, sub-frame timecodes, BlendShapeCount 0 where the face was lost."""
    h, m, s, f = (int(x) for x in start.split(":"))
    first = ((h * 60 + m) * 60 + s) * fps + f
    lines = [APP_COLUMNS + ("," if trailing_comma else "")]
    jaw_col = CSV_ARKIT_COLUMNS.index("JawOpen")
    for i in range(rows):
        frame = first + i
        tc = f"{format_timecode(frame, fps)[:-4]}.{(i * 37) % 1000:03d}"
        values = [0.0] * 61
        values[jaw_col] = 0.5 + 0.4 * np.sin(i / 10)
        values[52] = 0.2 * np.sin(i / 30)            # HeadYaw
        values[53] = -0.1                            # HeadPitch
        count = 0 if i in lose_face_at else 61
        lines.append(",".join([tc, str(count)] + [f"{v:.8g}" for v in values])
                     + ("," if trailing_comma else ""))
    text = newline.join(lines) + newline
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return path


def test_reads_a_take_in_the_real_apps_layout(tmp_path):
    take = read_livelink_csv(app_take(tmp_path / "MySlate_7_iPhone.csv"))
    assert take.fps == 60                             # frame numbers wrap at 60
    assert take.skipped_frames == 1 and len(take.times) == 89
    # Sub-frame fractions count: row i sits at (i + fraction) / 60 from the first row.
    assert take.times[1] == pytest.approx((1 + 0.037) / 60, abs=1e-9)
    jaw = take.arkit[:, ARKIT_INDEX["jawOpen"]]
    assert jaw[0] == pytest.approx(0.5) and jaw.max() <= 1.0
    assert take.head[:, 1] == pytest.approx(np.full(89, -0.1))
    motion, face = head_from_take(take)
    assert len(motion) == int(take.times[-1] * 25) + 1       # 1.48 s of take at 25 fps
    t = 20 / 25                                               # frame 20 interpolates the take
    assert face[20, ARKIT_INDEX["jawOpen"]] == pytest.approx(np.interp(t, take.times, jaw),
                                                             abs=1e-6)
    pitch = neck_to_yaw_pitch_roll(motion[:, NECK])[:, 1]
    assert pitch == pytest.approx(np.full(len(motion), -0.1), abs=1e-6)


def test_reads_the_variants_other_tools_write(tmp_path):
    names = ["Timecode", "BlendShapeCount"] + list(ARKIT_NAMES)          # camelCase, Apple's order
    rows = [",".join(names)]
    for i in range(30):                  # 30 fps, ";" drop-frame, no fraction, no rotations
        rows.append(",".join([f"23:59:59;{i:02d}", "52"] + [f"{0.01 * i:.4f}"] * 52))
    rows += [",".join([f"00:00:00;{i:02d}", "52"] + ["0.3"] * 52) for i in range(5)]  # midnight
    (tmp_path / "v.csv").write_text("\n".join(rows) + "\n\n")
    take = read_livelink_csv(tmp_path / "v.csv")
    assert take.fps == 30 and len(take.times) == 35
    assert take.times[30] == pytest.approx(1.0) and np.all(np.diff(take.times) > 0)
    assert np.abs(take.head).max() == 0.0 and take.missing == []
    assert take.arkit[29, ARKIT_INDEX["mouthLeft"]] == pytest.approx(0.29)


def test_a_take_missing_some_channels_reads_them_as_zero(tmp_path):
    (tmp_path / "few.csv").write_text("Timecode,JawOpen,EyeBlinkLeft\n"
                                      "00:00:00:00.000,0.5,0.1\n00:00:00:01.000,0.6,0.2\n")
    take = read_livelink_csv(tmp_path / "few.csv", fps=25)
    assert len(take.missing) == 50 and "tongueOut" in take.missing
    assert take.arkit[1, ARKIT_INDEX["jawOpen"]] == pytest.approx(0.6)


BAD = {
    "empty": ("", "empty"),
    "no_timecode": ("JawOpen,EyeBlinkLeft\n0.1,0.2\n", "no Timecode column"),
    "no_arkit": ("Timecode,Foo,Bar\n00:00:00:00.000,1,2\n", "no ARKit blendshape column"),
    "short_row": (APP_COLUMNS + "\n00:00:00:00.000,61,0.1\n",
                  "line 2: 3 fields where the header has 63"),
    "text_value": (APP_COLUMNS + "\n00:00:00:00.000,61,"
                   + ",".join(["0"] * 17 + ["open"] + ["0"] * 43) + "\n",
                   "line 2: JawOpen is 'open', not a number"),
    "nan_value": (APP_COLUMNS + "\n00:00:00:00.000,61," + ",".join(["nan"] + ["0"] * 60) + "\n",
                  "EyeBlinkLeft is nan"),
    "bad_timecode": (APP_COLUMNS + "\n12.5,61," + ",".join(["0"] * 61) + "\n", "timecode '12.5'"),
    "bad_minutes": (APP_COLUMNS + "\n00:75:00:00.000,61," + ",".join(["0"] * 61) + "\n", "over 59"),
    "backwards": (APP_COLUMNS + "\n00:00:05:00.000,61," + ",".join(["0"] * 61)
                  + "\n00:00:04:00.000,61," + ",".join(["0"] * 61) + "\n", "goes back at data row 2"),
    "face_never_found": (APP_COLUMNS + "\n00:00:00:00.000,0," + ",".join(["0"] * 61) + "\n",
                         "no frame with a tracked face"),
    "header_only": (APP_COLUMNS + "\n", "no frame with a tracked face"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_broken_files_are_one_clear_error(case, tmp_path):
    text, expected = BAD[case]
    path = tmp_path / f"{case}.csv"
    path.write_text(text)
    with pytest.raises(LiveLinkError) as err:
        read_livelink_csv(path)
    message = str(err.value)
    assert expected in message and "\n" not in message and str(path) in message
    assert isinstance(err.value, MotionFileError) and isinstance(err.value, TimarError)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(LiveLinkError, match="not found"):
        read_livelink_csv(tmp_path / "none.csv")
    (tmp_path / "bin.csv").write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(LiveLinkError, match="not a text CSV"):
        read_livelink_csv(tmp_path / "bin.csv")
    (tmp_path / "deg.csv").write_text(APP_COLUMNS + "\n00:00:00:00.000,61,"
                                      + ",".join(["0"] * 52 + ["45"] + ["0"] * 8) + "\n")
    with pytest.raises(LiveLinkError, match="radians"):
        load_motion(tmp_path / "deg.csv")


def test_a_take_is_a_heads_given_motion_like_a_flame_npz(tmp_path):
    motion, face = random_head(50, seed=4)
    motion[:, :50] = 0
    motion[:, JAW.start] = jaw_rad_from_open(face[:, ARKIT_INDEX["jawOpen"]])
    motion[:, JAW.start + 1:JAW.stop] = 0
    write_livelink_csv(tmp_path / "head.csv", take_from_head(motion, face))
    write_motion_npz(tmp_path / "head.npz", motion)
    from_csv, csv_face = load_head_motion(tmp_path / "head.csv")
    from_npz, npz_face = load_head_motion(tmp_path / "head.npz")
    assert npz_face is None and csv_face.shape == (50, FACE_DIM)
    assert np.abs(from_csv - from_npz).max() < 1e-5
    assert np.abs(load_motion(str(tmp_path / "head.csv")) - from_npz).max() < 1e-5


def test_take_objects_are_checked_when_written(tmp_path):
    bad = LiveLinkTake(times=np.zeros(1), arkit=np.full((1, 52), np.nan), head=np.zeros((1, 3)),
                       eyes=np.zeros((1, 6)), fps=25.0)
    with pytest.raises(LiveLinkError, match="NaN"):
        write_livelink_csv(tmp_path / "x.csv", bad)
    assert not (tmp_path / "x.csv").exists()
