"""TIMAR core: audio features, the causal turn-level model, streaming generation, data,
training and metrics. Pure Python (torch, numpy, scipy, soundfile); never imports bpy.

Front ends (the Blender extension, batch, CLI) use:
- ``checkpoint.load_model(path=None, device="auto", speech_model_dir=None)``: the bundled
  model when path is None; this project's checkpoints or the official release's TIMAR.pth
  (``official.convert_release``), whose wav2vec2 folder is ``speech_model_dir`` (else
  ``$TIMAR_SPEECH_MODEL``; ``speech.speech_model.setup_problems`` is the torch-free checklist);
- ``generate.DialogueGenerator(model, GenerationOptions(...))``: ``.run(audio_a, audio_b)``
  for a whole dialogue, ``.open(...)`` for a ``DialogueStream`` of 1 s turns;
- ``assets``: where the bundled weights, rig presets and sample dialogue live.

Layers, each module importing only from the layers before it (tests/core checks there is
no cycle): constants, errors, fileio, input_files, npz_check, assets, config, diffusion,
transformer, turn_joins -> speech/ (samples to features: audio, resampling, log-mel,
wav2vec2, Whisper) and face/ (the output channel spaces: FLAME files, ARKit, visemes, Live
Link), each on the foundation only, layout, limits, devices, trajectory, weights_check ->
official, data -> model -> checkpoint, generate -> train, evaluation/, baselines/, corpus/ ->
commands/ (one module per CLI verb) -> cli.
"""

__version__ = "0.1.0"
