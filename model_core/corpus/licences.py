# SPDX-License-Identifier: GPL-3.0-or-later
"""The licence of every voice the corpus speaks with, as Debian's copyright files state it
(``/usr/share/doc/<package>/copyright``), recorded in the corpus manifest.

Only voices whose licence lets us train a model we redistribute are used. MBROLA voices
(espeak-ng ``mb-*``, Debian contrib/non-free) are not: their licence forbids commercial
use and derived works; :func:`voice_licence` refuses them.
"""
from __future__ import annotations

from ..errors import TimarError

_CMU_FESTVOX = ("free (Festvox/CMU-Edinburgh, MIT-like: use, modify, distribute; keep the "
                "notice, mark modifications)")
LICENCES: dict[str, dict[str, str]] = {
    "espeak-ng": {"licence": "GPL-3.0-or-later", "package": "espeak-ng-data",
                  "copyright": "/usr/share/doc/espeak-ng-data/copyright"},
    "flite": {"licence": "free (CMU Flite licence, BSD-like: use, modify, distribute; keep "
                         "the notice)", "package": "flite",
              "copyright": "/usr/share/doc/flite/copyright"},
    "festival:kal_diphone": {"licence": _CMU_FESTVOX, "package": "festvox-kallpc16k",
                             "copyright": "/usr/share/doc/festvox-kallpc16k/copyright"},
    "festival:ked_diphone": {"licence": _CMU_FESTVOX, "package": "festvox-kdlpc16k",
                             "copyright": "/usr/share/doc/festvox-kdlpc16k/copyright"},
    "festival:cmu_us_slt_arctic_hts": {
        "licence": "free (EST-2003 BSD-like for the CMU ARCTIC voice, BSD-3-Clause for HTS)",
        "package": "festvox-us-slt-hts", "copyright": "/usr/share/doc/festvox-us-slt-hts/copyright"},
    "recorded:fillets": {"licence": "GPL-2.0-or-later (Fish Fillets NG data)",
                         "package": "fillets-ng-data-nl / -cs",
                         "copyright": "/usr/share/doc/fillets-ng-data-nl/copyright"},
}


def voice_licence(engine: str, name: str) -> dict[str, str]:
    """Licence record of one voice; TimarError for a voice we may not train on."""
    if "mbrola" in name.lower() or name.lower().startswith("mb-") or "+mb-" in name.lower():
        raise TimarError(f"voice {engine}:{name} is an MBROLA voice (non-free licence); "
                         "the corpus may not use it")
    for key in (f"{engine}:{name}", engine):
        if key in LICENCES:
            return dict(LICENCES[key])
    raise TimarError(f"no licence recorded for voice {engine}:{name}; add it to "
                     "model_core/corpus/licences.py after checking its copyright file")
