"""A local stand-in for OpenAI Realtime that speaks the same protocol, for the run command
and the tests: ``api`` (the HTTP endpoints and the app), ``peer`` (each call's WebRTC peer),
``interviewer`` (the scripted interviewer), ``client_events`` (the client events a call
takes), ``sideband`` (the call's WebSocket) and ``call`` (the state they share).

Run it alone: ``python -m devtools.simulator --port 8765``.
"""
