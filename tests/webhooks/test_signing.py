"""Our signatures, checked by the Standard Webhooks reference implementation (the PyPI
``standardwebhooks`` package: independent of ours) and by the spec's own example."""

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhooks.signing import secret_generate, signature, signed_headers


def test_the_reference_verifier_accepts_our_signature():
    secret = secret_generate()
    body = b'{"type":"decision.recorded","data":{"session_id":"s1"}}'
    headers = signed_headers(
        secret=secret, message_id="msg_abc", timestamp=int(time.time()), body=body
    )
    assert Webhook(secret).verify(body, headers) == {
        "type": "decision.recorded",
        "data": {"session_id": "s1"},
    }


def test_the_reference_verifier_refuses_a_changed_body_or_another_secret():
    secret = secret_generate()
    body = b'{"a":1}'
    headers = signed_headers(
        secret=secret, message_id="msg_1", timestamp=int(time.time()), body=body
    )
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":2}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_generate()).verify(body, headers)


def test_the_specifications_example():
    # The example in the Standard Webhooks specification (and its libraries' tests).
    assert (
        signature(
            secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp=1614265330,
            body=b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_secrets_are_whsec_and_the_base64_of_32_random_bytes():
    secret = secret_generate()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret != secret_generate()
