"""TIMAR core: audio features, the causal turn-level model, streaming generation, data,
training and metrics. Pure Python (torch, numpy, scipy, soundfile); never imports bpy.

Front ends (the Blender extension, batch, CLI) use:
- ``checkpoint.load_model(path=None, device="auto", speech_model_dir=None)``: the bundled
  model when path is None; this project's checkpoints or the official release's TIMAR.pth
  (``official.convert_release``), whose wav2vec2 folder is ``speech_model_dir`` (else
  ``$TIMAR_SPEECH_MODEL``; ``speech_model.setup_problems`` is the torch-free checklist);
- ``generate.DialogueGenerator(model, GenerationOptions(...))``: ``.run(audio_a, audio_b)``
  for a whole dialogue, ``.open(...)`` for a ``DialogueStream`` of 1 s turns;
- ``assets``: where the bundled weights, rig presets and sample dialogue live.

Layers, each module importing only from the layers before it (tests/core checks there is
no cycle): constants, errors, fileio, assets, config, diffusion, transformer, turn_joins ->
audio, flame, layout, limits, devices, logmel, speech_model, trajectory, weights_check ->
audio_stream, wav2vec2, official, data -> model, feature_stream -> checkpoint, generate ->
train, evaluation/, baselines/, corpus/ -> commands/ (one module per CLI verb) -> cli.
"""

__version__ = "0.1.0"
