"""Baselines for the DualTalk benchmark: trivial references (static mean pose, mirror of the
partner) and a DualTalk-style non-causal model trained with the same trainer as TIMAR."""
