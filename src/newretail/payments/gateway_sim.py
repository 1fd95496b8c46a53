"""A local stand-in for Alipay's OpenAPI gateway, for tests, the demo and the digital twin.

It listens on loopback and speaks the wire protocol the real ``python-alipay-sdk`` speaks: requests
arrive as signed parameters on ``/gateway.do``; the app's RSA2 signature is verified with the app's
public key; answers are ``{"<method>_response": {...}, "sign": "..."}`` signed with the gateway's own
key pair (generated here, in memory, never written anywhere). It keeps its own trade records, sends
signed asynchronous notifications, and serves a daily bill for reconciliation.

The buyer's side (what the Alipay app does) is :meth:`scan_and_pay` and :meth:`payment_code`, also
reachable over HTTP for the demo: ``POST /buyer/scan`` (``qr_code``, ``buyer_id``) and
``POST /buyer/payment-code`` (``buyer_id``).

Methods: ``alipay.trade.precreate`` (QR code), ``alipay.trade.pay`` (barcode), ``alipay.trade.query``,
``alipay.trade.refund``, ``alipay.trade.cancel``, ``alipay.data.dataservice.bill.downloadurl.query``.

Simplifications, on purpose: timestamps are UTC (Alipay uses China time); the bill zip holds one
UTF-8 CSV with English column names (Alipay's is GBK with Chinese headers); buyers are accounts made
with :meth:`AlipayGatewaySim.open_buyer` whose balance covers any currency.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
import secrets
import threading
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from newretail.core.clock import Clock, SystemClock
from newretail.payments.model import format_decimal_amount, parse_decimal_amount

log = logging.getLogger(__name__)

SUCCESS = "10000"
WAITING = "10003"
BUSINESS_FAILED = "40004"
INVALID_ARGUMENTS = "40002"
BILL_COLUMNS = ("trade_no", "out_trade_no", "biz_type", "out_request_no", "currency", "amount", "finished_at")


# --- RSA2 (SHA256withRSA, PKCS#1 v1.5), the way Alipay signs -----------------------------------------


def generate_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_key_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_key_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def rsa2_sign(key: rsa.RSAPrivateKey, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa2_verify(public_pem: str, message: str, signature: str) -> bool:
    public = serialization.load_pem_public_key(public_pem.encode())
    if not isinstance(public, rsa.RSAPublicKey):
        raise ValueError("Alipay keys are RSA keys")
    try:
        public.verify(base64.b64decode(signature, validate=True), message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def signing_string(params: Mapping[str, str], exclude: tuple[str, ...]) -> str:
    """Sorted ``key=value`` pairs joined by ``&``, raw (not URL-encoded) values."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in exclude)


def sign_notification(key: rsa.RSAPrivateKey, params: Mapping[str, str]) -> dict[str, str]:
    """Notifications are signed over every parameter except ``sign`` and ``sign_type``."""
    signed = {k: v for k, v in params.items() if k not in ("sign", "sign_type")}
    signed["sign"] = rsa2_sign(key, signing_string(signed, ()))
    signed["sign_type"] = "RSA2"
    return signed


# --- the gateway's own records ------------------------------------------------------------------------


@dataclass
class SimTrade:
    out_trade_no: str
    amount: int
    currency: str
    subject: str
    notify_url: str | None
    created_at: datetime
    status: str = "WAIT_BUYER_PAY"  # | TRADE_SUCCESS | TRADE_CLOSED
    trade_no: str | None = None
    qr_code: str | None = None
    buyer_id: str | None = None
    paid_at: datetime | None = None
    refunds: dict[str, int] = field(default_factory=dict)  # out_request_no -> amount

    @property
    def refunded(self) -> int:
        return sum(self.refunds.values())


@dataclass(frozen=True)
class BillLine:
    trade_no: str
    out_trade_no: str
    biz_type: str  # trade | refund
    out_request_no: str
    currency: str
    amount: int  # minor units, negative for refunds
    finished_at: datetime


@dataclass
class _Outgoing:
    notify_url: str | None
    params: dict[str, str]
    delivered: bool = False
    attempts: int = 0


class AlipayGatewaySim:
    def __init__(
        self,
        *,
        app_id: str,
        app_public_key_pem: str,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        key: rsa.RSAPrivateKey | None = None,
    ) -> None:
        self.app_id = app_id
        self._app_public_key_pem = app_public_key_pem
        self._clock = clock or SystemClock()
        self._key = key or generate_private_key()  # the gateway's own key pair, in memory only
        self.alipay_public_key_pem = public_key_pem(self._key)
        self._lock = threading.RLock()
        self._trades: dict[str, SimTrade] = {}
        self._buyers: dict[str, int] = {}
        self._codes: dict[str, str] = {}  # one-time payment code -> buyer
        self._bill: list[BillLine] = []
        self._bill_tokens: dict[str, date] = {}
        self._outbox: list[_Outgoing] = []
        self.rejected_requests = 0
        self.requests: list[str] = []  # method names, in arrival order
        self._host = host
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle

    def start(self) -> Self:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                sim._serve(self, urllib.parse.urlsplit(self.path).query)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                sim._serve(self, self.rfile.read(length).decode("utf-8"))

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("alipay sim: " + format, *args)

        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="alipay-sim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the gateway is not running; call start()")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def gateway_url(self) -> str:
        return f"{self.base_url}/gateway.do"

    # --- what the buyer does in the Alipay app

    def open_buyer(self, balance: int) -> str:
        with self._lock:
            buyer_id = "2088" + "".join(secrets.choice("0123456789") for _ in range(12))
            self._buyers[buyer_id] = balance
            return buyer_id

    def buyer_balance(self, buyer_id: str) -> int:
        with self._lock:
            return self._buyers[buyer_id]

    def payment_code(self, buyer_id: str) -> str:
        """A one-time 18-digit code, what the buyer's app shows as a barcode."""
        with self._lock:
            if buyer_id not in self._buyers:
                raise KeyError(buyer_id)
            code = "28" + "".join(secrets.choice("0123456789") for _ in range(16))
            self._codes[code] = buyer_id
            return code

    def scan_and_pay(self, qr_code: str, buyer_id: str) -> SimTrade:
        """The buyer scans a pre-created QR code and confirms."""
        with self._lock:
            trade = next((t for t in self._trades.values() if t.qr_code == qr_code), None)
            if trade is None:
                raise LookupError("no trade for this QR code")
            if trade.status != "WAIT_BUYER_PAY":
                raise LookupError(f"trade is {trade.status}")
            if self._buyers.get(buyer_id, -1) < trade.amount:
                raise LookupError("buyer balance not enough")
            self._settle_payment(trade, buyer_id)
            return self._copy(trade)

    def trade(self, out_trade_no: str) -> SimTrade | None:
        with self._lock:
            found = self._trades.get(out_trade_no)
            return self._copy(found) if found else None

    def bill(self, day: date) -> list[BillLine]:
        with self._lock:
            return [line for line in self._bill if line.finished_at.date() == day]

    # --- notifications

    def pending_notifications(self) -> list[dict[str, str]]:
        with self._lock:
            return [dict(o.params) for o in self._outbox if not o.delivered]

    def all_notifications(self) -> list[dict[str, str]]:
        with self._lock:
            return [dict(o.params) for o in self._outbox]

    def deliver_notifications(self, send: Callable[[dict[str, str]], str] | None = None) -> int:
        """Send every undelivered notification once; one answered ``success`` counts as delivered.

        ``send`` posts the form and returns the answer body; by default it POSTs to the notify_url.
        Like Alipay, anything but ``success`` leaves the notification to be sent again later.
        """
        with self._lock:
            todo = [o for o in self._outbox if not o.delivered]
        delivered = 0
        for outgoing in todo:
            outgoing.attempts += 1
            try:
                params = dict(outgoing.params)
                answer = send(params) if send is not None else _post_form(outgoing.notify_url, params)
            except OSError as exc:
                log.info("notification %s not delivered: %s", outgoing.params.get("notify_id"), exc)
                continue
            if answer.strip() == "success":
                outgoing.delivered = True
                delivered += 1
        return delivered

    # --- HTTP

    def _serve(self, handler: BaseHTTPRequestHandler, query: str) -> None:
        path = urllib.parse.urlsplit(handler.path).path
        if path.startswith("/bill/"):
            self._serve_bill(handler, path.removeprefix("/bill/"))
            return
        if path.startswith("/buyer/"):
            self._serve_buyer(handler, path.removeprefix("/buyer/"), query)
            return
        if path != "/gateway.do":
            _reply(handler, 404, b"not found", "text/plain")
            return
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}
        body = self.handle(params)
        _reply(handler, 200, body.encode("utf-8"), "application/json;charset=utf-8")

    def _serve_buyer(self, handler: BaseHTTPRequestHandler, action: str, query: str) -> None:
        """What the buyer's Alipay app does, over HTTP for the demo: scan a QR code, show a payment code."""
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(query).items()}
        try:
            if action == "scan":
                trade = self.scan_and_pay(form["qr_code"], form["buyer_id"])
                body = {"out_trade_no": trade.out_trade_no, "trade_status": trade.status}
            elif action == "payment-code":
                body = {"auth_code": self.payment_code(form["buyer_id"])}
            else:
                _reply(handler, 404, b"not found", "text/plain")
                return
        except (KeyError, LookupError) as exc:
            _reply(handler, 400, json.dumps({"error": str(exc)}).encode(), "application/json")
            return
        _reply(handler, 200, json.dumps(body).encode(), "application/json")

    def _serve_bill(self, handler: BaseHTTPRequestHandler, token: str) -> None:
        with self._lock:
            day = self._bill_tokens.get(token)
        if day is None:
            _reply(handler, 404, b"no such bill", "text/plain")
            return
        _reply(handler, 200, self._bill_zip(day), "application/zip")

    def handle(self, params: Mapping[str, str]) -> str:
        """One gateway call: verify the app's signature, run the method, sign the answer."""
        method = params.get("method", "")
        response_key = method.replace(".", "_") + "_response"
        params = dict(params)
        signature = params.pop("sign", "")
        with self._lock:
            self.requests.append(method)
        if (
            params.get("app_id") != self.app_id
            or params.get("sign_type") != "RSA2"
            or not signature
            or not rsa2_verify(self._app_public_key_pem, signing_string(params, ()), signature)
        ):
            with self._lock:
                self.rejected_requests += 1
            log.warning("alipay sim: refused a request with a bad app id or signature (%s)", method)
            return self._signed(
                response_key,
                {"code": INVALID_ARGUMENTS, "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"},
            )
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except json.JSONDecodeError:
            return self._signed(response_key, _failed("isv.invalid-parameter", "biz_content is not JSON"))
        handlers: dict[str, Callable[[dict[str, Any], dict[str, str]], dict[str, Any]]] = {
            "alipay.trade.precreate": self._precreate,
            "alipay.trade.pay": self._pay,
            "alipay.trade.query": self._query,
            "alipay.trade.refund": self._refund,
            "alipay.trade.cancel": self._cancel,
            "alipay.data.dataservice.bill.downloadurl.query": self._bill_url,
        }
        run = handlers.get(method)
        if run is None:
            return self._signed(response_key, _failed("isv.invalid-method", f"method {method} is not simulated"))
        try:
            with self._lock:
                content = run(biz, params)
        except _Refused as refused:
            content = _failed(refused.sub_code, refused.message)
        return self._signed(response_key, content)

    def _signed(self, response_key: str, content: dict[str, Any]) -> str:
        content.setdefault("msg", "Success" if content.get("code") == SUCCESS else "Business Failed")
        body = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        # The signature covers the exact text of the response object, as the SDK extracts it.
        return f'{{"{response_key}":{body},"sign":"{rsa2_sign(self._key, body)}"}}'

    # --- methods (called with the lock held)

    def _precreate(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        out_trade_no, amount, currency = _trade_fields(biz)
        trade = self._trades.get(out_trade_no)
        if trade is not None:
            if trade.status == "TRADE_SUCCESS":
                raise _Refused("ACQ.TRADE_HAS_SUCCESS", "trade already paid")
            if trade.status == "TRADE_CLOSED":
                raise _Refused("ACQ.TRADE_HAS_CLOSE", "trade closed")
            if trade.amount != amount or trade.currency != currency:
                raise _Refused("ACQ.CONTEXT_INCONSISTENT", "trade exists with other amount")
        else:
            trade = SimTrade(
                out_trade_no=out_trade_no,
                amount=amount,
                currency=currency,
                subject=str(biz.get("subject", "")),
                notify_url=params.get("notify_url"),
                created_at=self._clock.now(),
                qr_code=f"https://qr.alipay.com/sim{secrets.token_hex(8)}",
            )
            self._trades[out_trade_no] = trade
        return {"code": SUCCESS, "out_trade_no": out_trade_no, "qr_code": trade.qr_code}

    def _pay(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        out_trade_no, amount, currency = _trade_fields(biz)
        if biz.get("scene") not in ("bar_code", "wave_code"):
            raise _Refused("ACQ.INVALID_PARAMETER", "scene must be bar_code or wave_code")
        existing = self._trades.get(out_trade_no)
        if existing is not None:
            if existing.status == "TRADE_SUCCESS":
                raise _Refused("ACQ.TRADE_HAS_SUCCESS", "trade already paid")
            if existing.status == "TRADE_CLOSED":
                raise _Refused("ACQ.TRADE_HAS_CLOSE", "trade closed")
            raise _Refused("ACQ.CONTEXT_INCONSISTENT", "trade exists as a QR trade")
        buyer_id = self._codes.pop(str(biz.get("auth_code", "")), None)
        if buyer_id is None:
            raise _Refused("ACQ.PAYMENT_AUTH_CODE_INVALID", "payment code invalid or used")
        if self._buyers[buyer_id] < amount:
            raise _Refused("ACQ.BUYER_BALANCE_NOT_ENOUGH", "buyer balance not enough")
        trade = SimTrade(
            out_trade_no=out_trade_no,
            amount=amount,
            currency=currency,
            subject=str(biz.get("subject", "")),
            notify_url=params.get("notify_url"),
            created_at=self._clock.now(),
        )
        self._trades[out_trade_no] = trade
        self._settle_payment(trade, buyer_id)
        return {
            "code": SUCCESS,
            "trade_no": trade.trade_no,
            "out_trade_no": out_trade_no,
            "buyer_user_id": buyer_id,
            "total_amount": format_decimal_amount(amount),
            "receipt_amount": format_decimal_amount(amount),
            "trans_currency": currency,
            "gmt_payment": _timestamp(trade.paid_at),
        }

    def _query(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self._find(biz)
        answer: dict[str, Any] = {
            "code": SUCCESS,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.status,
            "total_amount": format_decimal_amount(trade.amount),
            "trans_currency": trade.currency,
        }
        if trade.trade_no:
            answer["trade_no"] = trade.trade_no
            answer["buyer_user_id"] = trade.buyer_id
            answer["send_pay_date"] = _timestamp(trade.paid_at)
        return answer

    def _refund(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self._find(biz)
        try:
            amount = parse_decimal_amount(str(biz.get("refund_amount")))
        except ValueError as exc:
            raise _Refused("ACQ.INVALID_PARAMETER", "refund_amount is not an amount") from exc
        request_no = str(biz.get("out_request_no") or trade.out_trade_no)
        if request_no in trade.refunds:
            if trade.refunds[request_no] != amount:
                raise _Refused("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "same request number, other amount")
            return self._refund_answer(trade, fund_change="N")  # a retry: nothing moves again
        if trade.status != "TRADE_SUCCESS" or amount <= 0:
            raise _Refused("ACQ.TRADE_STATUS_ERROR", f"trade is {trade.status}")
        if trade.refunded + amount > trade.amount:
            raise _Refused("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "refund exceeds what was paid")
        self._record_refund(trade, request_no, amount)
        return self._refund_answer(trade, fund_change="Y")

    def _cancel(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        trade = self._find(biz)
        action = "close"
        if trade.status == "TRADE_SUCCESS":
            # Cancelling a paid face-to-face trade refunds it in full, as Alipay does.
            self._record_refund(trade, f"cancel-{trade.out_trade_no}", trade.amount - trade.refunded)
            action = "refund"
        elif trade.status == "WAIT_BUYER_PAY":
            trade.status = "TRADE_CLOSED"
            self._notify(trade, "TRADE_CLOSED")
        return {"code": SUCCESS, "out_trade_no": trade.out_trade_no, "retry_flag": "N", "action": action}

    def _bill_url(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        if biz.get("bill_type") != "trade":
            raise _Refused("isv.invalid-bill-type", "only trade bills are simulated")
        try:
            day = date.fromisoformat(str(biz.get("bill_date")))
        except ValueError as exc:
            raise _Refused("isv.invalid-bill-date", "bill_date is YYYY-MM-DD") from exc
        if day >= self._clock.now().date():
            raise _Refused("isp.bill_not_exist", "a day's bill exists once the day is over")
        token = secrets.token_urlsafe(12)
        self._bill_tokens[token] = day
        return {"code": SUCCESS, "bill_download_url": f"{self.base_url}/bill/{token}"}

    # --- helpers (lock held)

    def _find(self, biz: dict[str, Any]) -> SimTrade:
        out_trade_no = biz.get("out_trade_no")
        trade = self._trades.get(str(out_trade_no)) if out_trade_no else None
        if trade is None and biz.get("trade_no"):
            trade = next((t for t in self._trades.values() if t.trade_no == biz["trade_no"]), None)
        if trade is None:
            raise _Refused("ACQ.TRADE_NOT_EXIST", "trade does not exist")
        return trade

    def _settle_payment(self, trade: SimTrade, buyer_id: str) -> None:
        now = self._clock.now()
        self._buyers[buyer_id] -= trade.amount
        trade.buyer_id = buyer_id
        trade.status = "TRADE_SUCCESS"
        trade.paid_at = now
        trade.trade_no = now.strftime("%Y%m%d") + "".join(secrets.choice("0123456789") for _ in range(20))
        self._bill.append(BillLine(trade.trade_no, trade.out_trade_no, "trade", "", trade.currency, trade.amount, now))
        self._notify(trade, "TRADE_SUCCESS")

    def _record_refund(self, trade: SimTrade, request_no: str, amount: int) -> None:
        now = self._clock.now()
        trade.refunds[request_no] = amount
        if trade.buyer_id is not None:
            self._buyers[trade.buyer_id] += amount
        self._bill.append(
            BillLine(trade.trade_no or "", trade.out_trade_no, "refund", request_no, trade.currency, -amount, now)
        )
        if trade.refunded == trade.amount:
            trade.status = "TRADE_CLOSED"
            self._notify(trade, "TRADE_CLOSED", refund_request=request_no)

    def _refund_answer(self, trade: SimTrade, *, fund_change: str) -> dict[str, Any]:
        return {
            "code": SUCCESS,
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_user_id": trade.buyer_id,
            "fund_change": fund_change,
            "refund_fee": format_decimal_amount(trade.refunded),
            "gmt_refund_pay": _timestamp(self._clock.now()),
        }

    def _notify(self, trade: SimTrade, status: str, refund_request: str | None = None) -> None:
        now = self._clock.now()
        params = {
            "notify_time": _timestamp(now),
            "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16),
            "app_id": self.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "out_trade_no": trade.out_trade_no,
            "trade_status": status,
            "total_amount": format_decimal_amount(trade.amount),
            "trans_currency": trade.currency,
            "subject": trade.subject,
            "gmt_create": _timestamp(trade.created_at),
        }
        if trade.trade_no:
            params["trade_no"] = trade.trade_no
            params["buyer_id"] = trade.buyer_id or ""
            params["gmt_payment"] = _timestamp(trade.paid_at)
        if refund_request is not None:
            params["out_biz_no"] = refund_request
            params["refund_fee"] = format_decimal_amount(trade.refunded)
            params["gmt_refund"] = _timestamp(now)
        self._outbox.append(_Outgoing(trade.notify_url, sign_notification(self._key, params)))

    def _bill_zip(self, day: date) -> bytes:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(BILL_COLUMNS)
        for line in self.bill(day):
            sign = "-" if line.amount < 0 else ""
            writer.writerow(
                [
                    line.trade_no,
                    line.out_trade_no,
                    line.biz_type,
                    line.out_request_no,
                    line.currency,
                    sign + format_decimal_amount(abs(line.amount)),
                    _timestamp(line.finished_at),
                ]
            )
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w") as archive:
            archive.writestr(f"{self.app_id}_{day:%Y%m%d}_detail.csv", text.getvalue())
        return data.getvalue()

    @staticmethod
    def _copy(trade: SimTrade) -> SimTrade:
        return SimTrade(**{**trade.__dict__, "refunds": dict(trade.refunds)})


class _Refused(Exception):
    def __init__(self, sub_code: str, message: str) -> None:
        super().__init__(message)
        self.sub_code = sub_code
        self.message = message


def _failed(sub_code: str, message: str) -> dict[str, Any]:
    return {"code": BUSINESS_FAILED, "msg": "Business Failed", "sub_code": sub_code, "sub_msg": message}


def _trade_fields(biz: dict[str, Any]) -> tuple[str, int, str]:
    out_trade_no = str(biz.get("out_trade_no") or "")
    if not 1 <= len(out_trade_no) <= 64:
        raise _Refused("ACQ.INVALID_PARAMETER", "out_trade_no is 1 to 64 characters")
    try:
        amount = parse_decimal_amount(str(biz.get("total_amount")))
    except ValueError as exc:
        raise _Refused("ACQ.INVALID_PARAMETER", "total_amount is not an amount") from exc
    if amount <= 0:
        raise _Refused("ACQ.INVALID_PARAMETER", "total_amount must be positive")
    return out_trade_no, amount, str(biz.get("trans_currency") or "CNY")


def _timestamp(instant: datetime | None) -> str:
    return instant.strftime("%Y-%m-%d %H:%M:%S") if instant else ""


def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _post_form(url: str | None, params: dict[str, str]) -> str:
    if not url:
        raise OSError("the trade has no notify_url")
    data = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body: bytes = response.read()
        return body.decode("utf-8")
