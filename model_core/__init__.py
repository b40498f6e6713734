"""TIMAR core: audio features, the causal turn-level model, streaming generation, data,
training and metrics. Pure Python (torch, numpy, scipy, soundfile); never imports bpy.

Front ends (the Blender extension, batch, CLI) use:
- ``checkpoint.load_model(path=None, device="auto")``: the bundled model when path is None;
- ``generate.DialogueGenerator(model, GenerationOptions(...)).stream(audio_a, audio_b)``.
"""

__version__ = "0.1.0"
