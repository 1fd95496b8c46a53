"""The local gateway signs like Alipay: the real python-alipay-sdk verifies what it signs, and nothing else."""

from __future__ import annotations

import pytest
from alipay import AliPay

from newretail.payments.gateway_sim import (
    generate_private_key,
    private_key_pem,
    public_key_pem,
    rsa2_sign,
    rsa2_verify,
    sign_notification,
    signing_string,
)


@pytest.fixture(scope="module")
def keys() -> tuple[object, object]:
    return generate_private_key(), generate_private_key()


def _sdk(app_key: object, alipay_key: object) -> AliPay:
    return AliPay(
        appid="2021000000000042",
        app_private_key_string=private_key_pem(app_key),  # type: ignore[arg-type]
        alipay_public_key_string=public_key_pem(alipay_key),  # type: ignore[arg-type]
        sign_type="RSA2",
    )


def test_the_sdk_verifies_a_notification_signed_by_the_gateway_key_only(keys: tuple[object, object]) -> None:
    app_key, gateway_key = keys
    sdk = _sdk(app_key, gateway_key)
    params = {"notify_id": "n1", "out_trade_no": "o1", "trade_status": "TRADE_SUCCESS", "total_amount": "12.30"}
    signed = sign_notification(gateway_key, params)  # type: ignore[arg-type]
    data = {k: v for k, v in signed.items() if k != "sign"}
    assert sdk.verify(dict(data), signed["sign"])
    assert not sdk.verify({**data, "total_amount": "0.01"}, signed["sign"])
    forged = sign_notification(app_key, params)  # type: ignore[arg-type]
    assert not sdk.verify({k: v for k, v in forged.items() if k != "sign"}, forged["sign"])


def test_the_gateway_verifies_what_the_sdk_signs(keys: tuple[object, object]) -> None:
    app_key, gateway_key = keys
    sdk = _sdk(app_key, gateway_key)
    body = sdk.build_body("alipay.trade.query", {"out_trade_no": "o1"})
    sdk_signature = sdk._sign(signing_string({k: str(v) for k, v in sdk._ordered_data(dict(body))}, ()))
    message = signing_string(dict(sdk._ordered_data(dict(body))), ())
    assert rsa2_verify(public_key_pem(app_key), message, sdk_signature)  # type: ignore[arg-type]
    assert not rsa2_verify(public_key_pem(gateway_key), message, sdk_signature)  # type: ignore[arg-type]
    assert rsa2_sign(app_key, message) == sdk_signature  # type: ignore[arg-type]  # PKCS#1 v1.5 is deterministic
    assert not rsa2_verify(public_key_pem(app_key), message, "not base64!")  # type: ignore[arg-type]
