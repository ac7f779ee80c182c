"""Rendering segments on a Ray cluster (`--executor ray`).

    connect.py   is Ray installed, is the cluster reachable, `ray.init` (or a local Ray)
    worker.py    the model-holding worker: renders one segment, publishes its clip, returns the digest
    executor.py  the driver's side: the pool of workers, longest job first, retries, progress

Nothing here is imported unless the executor is `ray`, and this package's __init__ imports
nothing, so `import seqc` never imports Ray.
"""
