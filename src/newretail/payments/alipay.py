"""The Alipay provider: an adapter over ``python-alipay-sdk`` (RSA2).

Calls used: ``alipay.trade.precreate`` (QR code for online / in-app payment), ``alipay.trade.pay``
(barcode the customer shows in store), ``alipay.trade.query``, ``alipay.trade.refund`` (refunds and the
release of an unused authorisation margin), ``alipay.trade.cancel`` (void before the customer paid),
``alipay.data.dataservice.bill.downloadurl.query`` (the daily bill, for reconciliation), and the
verification of asynchronous notifications.

Alipay face-to-face payments take the money at once: there is no hold to capture later. So
"authorise" charges the promised total plus the margin, "capture" keeps the packed total and
refunds the rest, and "void" refunds everything (or cancels a trade the customer never paid).
"""

from __future__ import annotations

import binascii
import csv
import io
import json
import logging
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig

from newretail.payments import ledger
from newretail.payments.config import PaymentSettings
from newretail.payments.ledger import AccountRef
from newretail.payments.model import (
    Channel,
    InvalidNotification,
    Method,
    ProviderUnavailable,
    ReconKey,
    format_decimal_amount,
    parse_decimal_amount,
)
from newretail.payments.providers import (
    ChargeOutcome,
    ChargeRequest,
    ChargeStatus,
    Notification,
    ProviderRejected,
    TradeState,
    TradeStatus,
)

log = logging.getLogger(__name__)

SUCCESS = "10000"
WAITING = "10003"
UNKNOWN_RESULT = "20000"
_TRADE_STATUS = {
    "WAIT_BUYER_PAY": TradeStatus.WAITING,
    "TRADE_SUCCESS": TradeStatus.PAID,
    "TRADE_FINISHED": TradeStatus.PAID,
    "TRADE_CLOSED": TradeStatus.CLOSED,
}


class AlipayProvider:
    name = Method.ALIPAY.value

    def __init__(
        self,
        *,
        app_id: str,
        app_private_key_pem: str,
        alipay_public_key_pem: str,
        gateway_url: str,
        notify_url: str | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.app_id = app_id
        self._client = AliPay(
            appid=app_id,
            app_notify_url=notify_url,
            app_private_key_string=app_private_key_pem,
            alipay_public_key_string=alipay_public_key_pem,
            sign_type="RSA2",
            config=AliPayConfig(timeout=timeout_seconds),
        )
        # python-alipay-sdk 3.4.0 has no gateway parameter (``debug`` picks one of two fixed hosts);
        # the local gateway and regional endpoints need this one attribute set.
        self._client._gateway = gateway_url

    @classmethod
    def from_settings(cls, settings: PaymentSettings) -> AlipayProvider:
        if not settings.alipay_configured:
            raise ValueError("Alipay needs NEWRETAIL_PAYMENTS_ALIPAY_APP_ID, _APP_PRIVATE_KEY and _PUBLIC_KEY")
        return cls(
            app_id=settings.alipay_app_id or "",
            app_private_key_pem=settings.alipay_app_private_key or "",
            alipay_public_key_pem=settings.alipay_public_key or "",
            gateway_url=settings.alipay_gateway_url,
            notify_url=settings.alipay_notify_url,
            timeout_seconds=settings.alipay_timeout_seconds,
        )

    def funding_account(self, customer_id: str, currency: str) -> AccountRef:
        return ledger.provider_clearing(self.name, currency)

    # --- money

    def authorise(self, request: ChargeRequest) -> ChargeOutcome:
        amount = format_decimal_amount(request.amount)
        extra = _currency_params(request.currency)
        if request.channel is Channel.QR:
            answer = self._call(
                "alipay.trade.precreate",
                lambda: self._client.api_alipay_trade_precreate(
                    subject=request.subject, out_trade_no=request.trade, total_amount=amount, **extra
                ),
            )
            if answer.get("code") == SUCCESS:
                return ChargeOutcome(ChargeStatus.PENDING, qr_code=answer.get("qr_code"))
        elif request.channel is Channel.BARCODE:
            if not request.payment_code:
                raise ProviderRejected("a barcode payment needs the customer's payment code")
            answer = self._call(
                "alipay.trade.pay",
                lambda: self._client.api_alipay_trade_pay(
                    out_trade_no=request.trade,
                    scene="bar_code",
                    auth_code=request.payment_code,
                    subject=request.subject,
                    total_amount=amount,
                    **extra,
                ),
            )
            if answer.get("code") == SUCCESS:
                return ChargeOutcome(ChargeStatus.SUCCEEDED, provider_trade_no=answer.get("trade_no"))
            if answer.get("code") == WAITING:  # the buyer must confirm in the Alipay app
                return ChargeOutcome(ChargeStatus.PENDING, provider_trade_no=answer.get("trade_no"))
        else:
            raise ProviderRejected("Alipay payments go through a QR code or a barcode", channel=request.channel.value)
        if answer.get("sub_code") == "ACQ.TRADE_HAS_SUCCESS" or answer.get("code") == UNKNOWN_RESULT:
            # A retry of a trade that went through, or an unknown result: the active query decides.
            state = self.query(request.trade)
            if state.status is TradeStatus.PAID and state.amount == request.amount:
                return ChargeOutcome(ChargeStatus.SUCCEEDED, provider_trade_no=state.provider_trade_no)
            if state.status is TradeStatus.UNKNOWN and answer.get("code") == UNKNOWN_RESULT:
                raise ProviderUnavailable("Alipay did not say whether the payment went through; retry")
        return ChargeOutcome(ChargeStatus.DECLINED, decline_reason=_reason(answer))

    def capture(self, trade: str, *, authorised: int, amount: int, currency: str, release_request: str) -> None:
        if authorised > amount:
            self.refund(trade, amount=authorised - amount, currency=currency, request=release_request)

    def void(self, trade: str, *, paid: int, currency: str, request: str) -> None:
        if paid:
            self.refund(trade, amount=paid, currency=currency, request=request)
            return
        answer = self._call("alipay.trade.cancel", lambda: self._client.api_alipay_trade_cancel(out_trade_no=trade))
        if answer.get("code") != SUCCESS and answer.get("sub_code") != "ACQ.TRADE_NOT_EXIST":
            raise ProviderRejected(f"Alipay refused to cancel: {_reason(answer)}", trade=trade)
        if answer.get("action") == "refund":
            # The customer paid after all, and Alipay refunded it; the ledger never saw the money.
            log.error("Alipay refunded trade %s on cancel: it was paid after our last look", trade)

    def refund(self, trade: str, *, amount: int, currency: str, request: str) -> None:
        answer = self._call(
            "alipay.trade.refund",
            lambda: self._client.api_alipay_trade_refund(
                refund_amount=format_decimal_amount(amount),
                out_trade_no=trade,
                out_request_no=request,
                **_currency_params(currency, key="refund_currency"),
            ),
        )
        if answer.get("code") != SUCCESS:
            raise ProviderRejected(f"Alipay refused the refund: {_reason(answer)}", trade=trade, request=request)

    def query(self, trade: str) -> TradeState:
        answer = self._call("alipay.trade.query", lambda: self._client.api_alipay_trade_query(out_trade_no=trade))
        if answer.get("code") != SUCCESS:
            if answer.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
                return TradeState(trade, TradeStatus.UNKNOWN)
            raise ProviderUnavailable(f"Alipay query failed: {_reason(answer)}", trade=trade)
        return TradeState(
            trade=trade,
            status=_TRADE_STATUS.get(str(answer.get("trade_status")), TradeStatus.UNKNOWN),
            amount=_amount(answer.get("total_amount")),
            provider_trade_no=answer.get("trade_no"),
        )

    # --- notifications

    def parse_notification(self, params: Mapping[str, str]) -> Notification:
        data = dict(params)
        signature = data.pop("sign", None)
        if not signature:
            raise InvalidNotification("the notification is not signed")
        try:
            # verify() drops sign_type itself (Alipay leaves both out of the signed text) and refuses RSA.
            authentic = self._client.verify(dict(data), signature)
        except (AliPayException, binascii.Error, ValueError, TypeError) as exc:
            raise InvalidNotification("the notification signature cannot be checked") from exc
        if not authentic:
            raise InvalidNotification("the notification signature is not Alipay's")
        if data.get("app_id") != self.app_id:
            raise InvalidNotification("the notification is for another app", app_id=data.get("app_id"))
        missing = [k for k in ("notify_id", "out_trade_no", "trade_status", "total_amount") if not data.get(k)]
        if missing:
            raise InvalidNotification("the notification lacks fields", missing=missing)
        amount = _amount(data["total_amount"])
        if amount is None:
            raise InvalidNotification("the notification amount is not an amount")
        return Notification(
            notify_id=data["notify_id"],
            trade=data["out_trade_no"],
            status=_TRADE_STATUS.get(data["trade_status"], TradeStatus.UNKNOWN),
            amount=amount,
            provider_trade_no=data.get("trade_no"),
            params=dict(params),
        )

    # --- reconciliation

    def records(self, day: date) -> list[tuple[ReconKey, int]]:
        answer = self._call(
            "alipay.data.dataservice.bill.downloadurl.query",
            lambda: self._client.server_api(
                "alipay.data.dataservice.bill.downloadurl.query",
                biz_content={"bill_type": "trade", "bill_date": day.isoformat()},
            ),
        )
        url = answer.get("bill_download_url")
        if answer.get("code") != SUCCESS or not url:
            raise ProviderUnavailable(f"Alipay has no bill for {day}: {_reason(answer)}")
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                archive = zipfile.ZipFile(io.BytesIO(response.read()))
        except (OSError, zipfile.BadZipFile) as exc:
            raise ProviderUnavailable(f"could not download the Alipay bill for {day}: {exc}") from exc
        records: list[tuple[ReconKey, int]] = []
        for name in archive.namelist():
            if not name.endswith(".csv"):
                continue
            for row in csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))):
                text = row["amount"]
                value = parse_decimal_amount(text.removeprefix("-"))
                signed = -value if text.startswith("-") else value
                request = row["out_request_no"] if row["biz_type"] == "refund" else ""
                records.append((ReconKey(row["out_trade_no"], request, row["currency"]), signed))
        return records

    # --- plumbing

    def _call(self, method: str, call: Callable[[], Any]) -> dict[str, Any]:
        """Run one SDK call; transport trouble and unverifiable answers become ProviderUnavailable."""
        try:
            answer = call()
        except AliPayValidationError as exc:
            log.error("Alipay answer to %s failed signature verification", method)
            raise ProviderUnavailable("Alipay's answer did not carry a valid signature") from exc
        except AliPayException as exc:
            raise ProviderUnavailable(f"Alipay refused {method}: {exc}") from exc
        except (OSError, json.JSONDecodeError) as exc:  # URLError, timeouts, refused connections
            raise ProviderUnavailable(f"Alipay could not be reached for {method}: {exc}") from exc
        if not isinstance(answer, dict):
            raise ProviderUnavailable(f"Alipay answered {method} with something that is not an object")
        if answer.get("code") == "40002":
            raise ProviderUnavailable(f"Alipay refused our request ({_reason(answer)}): check the app id and keys")
        return answer


def _currency_params(currency: str, key: str = "trans_currency") -> dict[str, str]:
    # CNY is Alipay's own currency; anything else goes as a cross-border transaction currency.
    return {} if currency == "CNY" else {key: currency}


def _amount(value: object) -> int | None:
    try:
        return parse_decimal_amount(str(value))
    except ValueError:
        return None


def _reason(answer: Mapping[str, Any]) -> str:
    return str(answer.get("sub_code") or answer.get("msg") or answer.get("code") or "unknown")
