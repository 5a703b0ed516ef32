"""The tenant API: what an applicant-tracking system uses to push candidates in, send
invitations and read results back, with short-lived JWTs from client credentials."""
