"""The AI's advisory summary of an interview, written with OpenAI's Responses API.

One module per job: ``prompt`` (the rules, the input built from a session and the strict
JSON schema of the answer), ``client`` (the HTTP call and what its failures mean),
``breaker`` (the circuit breaker the workers share through Redis), ``evidence`` (checking
the model's quotes against the transcript) and ``answer`` (the model's answer made into the
summary's fields). ``interviews.services.summaries`` puts them
together; ``interviews.tasks`` runs it on a worker. See docs/summaries.md.
"""
