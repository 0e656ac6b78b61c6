"""Truth-free plausibility check of a digitized record: Einthoven (I + III = II) and Goldberger
(aVR + aVL + aVF = 0) consistency, expressed as an SNR-like dB.

The check is limb-lead physics and is defined in :mod:`ecgdl.signals.einthoven` (signals sit below metrics in the
package layers, and :mod:`ecgdl.signals.limb` needs it); this module keeps the metrics' import path.
"""

from __future__ import annotations

from ecgdl.signals.einthoven import COLUMNS_3X4_S, EinthovenResult, einthoven_consistency_db

__all__ = ["COLUMNS_3X4_S", "EinthovenResult", "einthoven_consistency_db"]
