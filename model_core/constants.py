"""Fixed facts of the TIMAR data layout (see ../shared/spec/TIMAR.md)."""

SAMPLE_RATE = 16_000          # speech is handled at 16 kHz mono
FPS = 25                      # FLAME frames per second
TURN_FRAMES = 25              # one turn = 1 s = 25 frames
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS   # 640
SAMPLES_PER_TURN = SAMPLE_RATE           # 16000

EXP_DIM = 50
JAW_DIM = 3
NECK_DIM = 3
MOTION_DIM = EXP_DIM + JAW_DIM + NECK_DIM   # 56: exp ++ jaw ++ neck (model order)

# Slices into the model's 56-vector.
EXP = slice(0, 50)
JAW = slice(50, 53)
NECK = slice(53, 56)
# The groups every metric is reported for ("pose" is the neck, as in DualTalk's tables).
GROUPS = {"exp": EXP, "jaw": JAW, "pose": NECK}

# Tokens per turn: four streams of 25 frames, each wrapped in start/end markers, plus the
# turn-start and turn-end markers: 4 * (25 + 2) + 2 = 110.
NUM_MARKERS = 10
TOKENS_PER_TURN = 4 * (TURN_FRAMES + 2) + 2
