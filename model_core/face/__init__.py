"""The face's output channel spaces and their tables and files. Pure numpy.

- ``flame``: FLAME motion files (DualTalk npz) <-> the model's 56-vector, and their ranges;
- ``motion_files``: a head's given motion from a FLAME npz or a Live Link Face CSV take;
- ``channels``: Apple's ARKit-52 blendshape weights and the Meta/Oculus 15 visemes (names,
  order, the layout of a generated face frame);
- ``visemes``: ARPAbet -> viseme -> ARKit shapes, sealing; ``head_angles``: yaw/pitch/roll
  <-> FLAME neck;
- ``livelink``, ``livelink_motion``: Live Link Face CSV takes and their conversion."""
