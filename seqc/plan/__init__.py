"""The planner: Storyboard -> Plan (keys, statuses and reasons). Torch-free: `seqc plan` and a
no-op render never import torch."""

from seqc.plan.explain import explain
from seqc.plan.plan import (
           PACING_PROBES,
           PACING_REUSE,
           LatentJob,
           Plan,
           SegmentJob,
           compile_plan,
           pacing_probes,
           pacing_reuse,
           run_id_for,
)
from seqc.store.kinds import CACHED, INVALID, MISSING

__all__ = ["CACHED", "INVALID", "MISSING", "PACING_PROBES", "PACING_REUSE", "LatentJob", "Plan", "SegmentJob", "compile_plan",
           "explain", "pacing_probes", "pacing_reuse", "run_id_for"]
