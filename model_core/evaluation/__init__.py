"""The DualTalk benchmark: ``protocol`` (clips, scoring loop, tables, report), ``methods``
(TIMAR as a method; the baselines are in ``model_core.baselines``), ``metrics`` (the paper's
frame-bag metrics), ``motion_time`` (motion judged over time) and ``compare`` (paired
per-clip differences between methods)."""
