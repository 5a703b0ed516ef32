import secrets

import pytest

from invitations.selectors import invitation_for_token
from tests.factories import InvitationFactory

pytestmark = pytest.mark.django_db


def test_ten_thousand_random_tokens_are_all_refused(tenant_a):
    # Each is a database lookup: 100,000 of them took over a minute of the suite and showed
    # nothing 10,000 do not (a 256-bit token is not guessed either way).
    InvitationFactory.create_batch(20, tenant=tenant_a)
    accepted = sum(
        1 for _ in range(10_000) if invitation_for_token(secrets.token_urlsafe(32)) is not None
    )
    assert accepted == 0


def test_malformed_tokens_are_refused_without_a_lookup(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert invitation_for_token("") is None
        assert invitation_for_token("x" * 129) is None


def test_the_lookup_leaves_no_bypass_behind(tenant_a):
    from interviews.models import Candidate
    from tests.factories import CandidateFactory

    CandidateFactory(tenant=tenant_a)
    invitation_for_token(secrets.token_urlsafe(32))
    assert Candidate.objects.count() == 0
