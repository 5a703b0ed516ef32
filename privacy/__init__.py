"""Data protection: the retention policy (archive, then delete, each tenant's expired
interviews) and erasure on request. It sits above the apps whose rows it deletes
(interviews, invitations) and has no models of its own; see docs/retention.md."""
