"""Celery tasks of the interview domain: thin wrappers around services. Each takes its
tenant id."""

from celery import shared_task

from . import services

#: Runs of one summary task before it gives up waiting (a circuit kept open, a claim never
#: released): with the default cool-down, an hour and more of the service being down.
SUMMARY_MAX_RUNS = 60


@shared_task(
    bind=True,
    # Safe to run twice (services.summary_write claims the row and writes only under its
    # claim), so a worker that dies mid-call leaves the message for another.
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=SUMMARY_MAX_RUNS,
)
def summarize_session(self, session_id: str, tenant_id: str) -> str:
    """Write the AI's summary of a session that ended; the service decides when to retry."""
    run = services.summary_write(session_id=session_id, tenant_id=tenant_id)
    if run.retry_in is None:
        return run.outcome
    if self.request.retries >= self.max_retries:
        services.summary_give_up(
            session_id=session_id,
            tenant_id=tenant_id,
            reason="The AI service stayed unavailable; ask for the summary again later.",
        )
        return "failed"
    if self.request.is_eager:
        # Run inline (no broker): the retry runs at once, in this process. Raised here it
        # would reach the caller as an error, as eager tasks' exceptions do.
        return self.retry(countdown=run.retry_in, throw=False)
    raise self.retry(countdown=run.retry_in)


@shared_task
def requeue_stranded_summaries() -> int:
    """Queue again the summaries whose message was lost or whose worker died (every
    SUMMARY_SWEEP_SECONDS, beat). Returns how many were queued."""
    stranded = services.summaries_stranded()
    for session_id, tenant_id in stranded:
        summarize_session.delay(session_id, tenant_id)
    return len(stranded)
