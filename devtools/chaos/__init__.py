"""Fault injection (``scripts/chaos``): a simulator interview end to end, against a platform of
the harness's own, with one fault at a random moment, checked against the simulator's record.

``platform`` (the servers and processes), ``simulated`` (the simulator, in this process),
``candidate`` (the headless candidate on aiortc), ``interview`` (the data), ``faults``,
``checks``, ``run`` (a run and the harness) and ``report`` (the table). docs/reliability.md
explains the design and holds the results.
"""
