"""``newretail ledger verify`` and ``newretail payments reconcile`` (plus a local Alipay gateway for the demo)."""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated

import typer
from rich.console import Console

from newretail.core.runtime import Runtime
from newretail.core.settings import get_settings
from newretail.payments import services
from newretail.payments.config import PaymentSettings
from newretail.payments.model import Method
from newretail.payments.providers import PaymentProviders

ledger_app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)
payments_app = typer.Typer(help="Payments: reconciliation with providers, local Alipay gateway.", no_args_is_help=True)
console = Console(soft_wrap=True)  # one finding per line, for people and for grep
err_console = Console(stderr=True, soft_wrap=True)

DatabaseOption = Annotated[
    str | None, typer.Option("--database", envvar="NEWRETAIL_DATABASE_URL", help="SQLAlchemy URL")
]


def _runtime(database: str | None) -> Runtime:
    settings = get_settings()
    if database:
        settings = settings.model_copy(update={"database_url": database})
    return Runtime.from_settings(settings)


@ledger_app.command("verify")
def verify(database: DatabaseOption = None) -> None:
    """Prove the books: every journal entry balances and every cached balance equals its postings."""
    runtime = _runtime(database)
    try:
        result = services.verify_ledger(runtime.uow())
    finally:
        runtime.engine.dispose()
    if result.ok:
        console.print(
            f"[green]ledger verified[/green]: every one of {result.entries} journal entries balances "
            f"({result.postings} postings); all {result.accounts} account balances equal the sum of their postings"
        )
        return
    for entry in result.unbalanced:
        err_console.print(
            f"[red]unbalanced entry[/red] {entry['entry_id']} ({entry['kind']}, tenant {entry['tenant_id']}): "
            f"postings sum to {entry['sum']} over {entry['postings']} legs"
        )
    for account in result.mismatched_accounts:
        what = "is negative" if account["negative"] else "differs from its postings"
        err_console.print(
            f"[red]account {account['account']}[/red] (tenant {account['tenant_id']}) {what}: "
            f"cached {account['cached']}, postings say {account['derived']}"
        )
    if result.orphan_postings:
        err_console.print(f"[red]{result.orphan_postings} postings[/red] point at no entry or a wrong account")
    err_console.print(
        f"[red]ledger NOT verified[/red]: {len(result.unbalanced)} unbalanced entries, "
        f"{len(result.mismatched_accounts)} wrong balances, {result.orphan_postings} orphan postings"
    )
    raise typer.Exit(code=1)


@payments_app.command("reconcile")
def reconcile(
    day: Annotated[str, typer.Option("--date", help="the UTC day to reconcile, YYYY-MM-DD")],
    provider: Annotated[str, typer.Option("--provider", help="alipay or test")] = Method.ALIPAY.value,
    database: DatabaseOption = None,
) -> None:
    """Compare the ledger's money movements at a provider on a day with the provider's own bill."""
    try:
        when = date.fromisoformat(day)
        method = Method(provider)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    runtime = _runtime(database)
    try:
        providers = PaymentProviders.from_settings(PaymentSettings(), runtime.clock)
        report = services.reconcile_provider(runtime.uow(), providers, method=method, day=when)
    finally:
        runtime.engine.dispose()
    for mismatch in report.mismatches:
        key = mismatch.key
        what = f"trade {key.trade}" + (f" request {key.request}" if key.request else "")
        err_console.print(
            f"[red]{mismatch.problem}[/red] {what} ({key.currency}): "
            f"ledger {mismatch.ledger_amount}, {report.provider} {mismatch.provider_amount}"
        )
    summary = (
        f"{report.provider} {report.day}: {report.matched} movements match; "
        f"ledger net {report.ledger_total}, provider net {report.provider_total}"
    )
    if report.clean:
        console.print(f"[green]reconciled[/green] {summary}")
        return
    err_console.print(f"[red]{len(report.mismatches)} mismatches[/red] {summary}")
    raise typer.Exit(code=1)


@payments_app.command("gateway-sim")
def gateway_sim(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 8001,
    notify_url: Annotated[str, typer.Option(help="where notifications go")] = (
        "http://127.0.0.1:8000/payments/notifications/alipay"
    ),
) -> None:
    """Run a local Alipay gateway for the demo, with fresh keys; prints the settings to export."""
    from newretail.payments.gateway_sim import AlipayGatewaySim, generate_private_key, private_key_pem, public_key_pem

    app_key = generate_private_key()
    app_id = "2021000000000001"
    sim = AlipayGatewaySim(app_id=app_id, app_public_key_pem=public_key_pem(app_key), port=port).start()
    buyer = sim.open_buyer(1_000_000)
    console.print("[green]local Alipay gateway[/green] on " + sim.gateway_url + "; export these for `newretail serve`:")
    for name, value in {
        "NEWRETAIL_PAYMENTS_ALIPAY_APP_ID": app_id,
        "NEWRETAIL_PAYMENTS_ALIPAY_GATEWAY_URL": sim.gateway_url,
        "NEWRETAIL_PAYMENTS_ALIPAY_NOTIFY_URL": notify_url,
        "NEWRETAIL_PAYMENTS_ALIPAY_APP_PRIVATE_KEY": private_key_pem(app_key),
        "NEWRETAIL_PAYMENTS_ALIPAY_PUBLIC_KEY": sim.alipay_public_key_pem,
    }.items():
        console.print(f"export {name}='{value.strip()}'", highlight=False)
    console.print(
        f"demo buyer {buyer}: pay a QR code with POST {sim.base_url}/buyer/scan (qr_code, buyer_id); "
        f"get a barcode payment code with POST {sim.base_url}/buyer/payment-code (buyer_id)"
    )
    try:
        while True:  # deliver notifications like Alipay: again and again until answered "success"
            sim.deliver_notifications()
            time.sleep(2)
    except KeyboardInterrupt:
        sim.stop()
