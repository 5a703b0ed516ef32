"""A sideband-only stand-in for OpenAI Realtime under load, for ``scripts/benchmark realtime``.

It serves the GA sideband (``GET /v1/realtime?call_id=...``, a WebSocket) for many calls at
once and nothing else: no WebRTC, no call creation. Calls are registered up front under the
ids the benchmark gives them (``POST /load/calls``); from the first attach each one runs a
scripted conversation at a realistic pace with the simulator's own event builders
(devtools.simulator): the interviewer's responses with their transcript deltas, the
candidate's speech and its input transcription, a ``record_assessment`` tool call now and
then (answered by the follower's ``function_call_output`` and ``response.create``), and
``session.updated`` echoes of every ``session.update``.

The fake stamps the moment it sends each transcript event, keyed by the item id the platform
stores with the entry, and keeps who was attached to each call and when (``GET /load/report``).

Run it alone: ``python -m devtools.loadfake --port 8766``.
"""
