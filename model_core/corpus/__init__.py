"""Synthetic dyadic corpus for training and evaluating TIMAR (DualTalk layout).

Commands (see :mod:`.command`)::

    python -m model_core corpus --out data/corpus            # train 3 h, test 20 min, ood 20 min
    python -m model_core corpus --stats-from ../shared/data/dualtalk_demo \\
        --stats-out assets/flame_motion_stats.npz            # real FLAME statistics
    python -m model_core corpus --sample assets/sample       # the bundled sample dialogue

Modules: ``text`` (sentence grammar), ``voices`` (espeak-ng / flite / festival),
``fillets`` (recorded Dutch/Czech voices for the OOD split), ``dialogue`` (turn-taking
layout of two tracks), ``features`` (loudness/pitch per frame), ``stats`` (real FLAME
statistics), ``teacher`` (procedural motion), ``build`` (splits, workers, manifest),
``sample`` (bundled sample).
"""
