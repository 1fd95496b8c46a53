"""The ``newretail`` command line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from newretail.core.runtime import Runtime
from newretail.core.settings import get_settings
from newretail.payments.cli import ledger_app, payments_app

if TYPE_CHECKING:
    from newretail.sim.live import LiveTraffic

DEFAULT_LIVE_ORDERS_PER_HOUR = 45.0  # newretail.sim.live.DEFAULT_ORDERS_PER_HOUR (imported late)

app = typer.Typer(help="newretail: stores as warehouses, 30-minute delivery, app payments.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(payments_app, name="payments")
console = Console()
err_console = Console(stderr=True)

DatabaseOption = Annotated[
    str | None, typer.Option("--database", envvar="NEWRETAIL_DATABASE_URL", help="SQLAlchemy URL")
]


def _runtime(database: str | None) -> Runtime:
    settings = get_settings()
    if database:
        settings = settings.model_copy(update={"database_url": database})
    return Runtime.from_settings(settings)


@app.command()
def migrate(database: DatabaseOption = None) -> None:
    """Create or upgrade the database schema (Alembic)."""
    from newretail.migrate import upgrade

    runtime = _runtime(database)
    upgrade(runtime.engine)
    console.print(f"[green]schema is up to date[/green] on {runtime.engine.url.render_as_string(hide_password=True)}")


@app.command()
def seed(database: DatabaseOption = None, random_seed: int = typer.Option(42, "--seed")) -> None:
    """Load the demo city: a retailer, three stores, staff, customers, catalog and stock."""
    from newretail.migrate import upgrade
    from newretail.seed import DEMO_PASSWORD, AlreadySeeded, seed_demo

    runtime = _runtime(database)
    upgrade(runtime.engine)
    try:
        city = seed_demo(runtime, seed=random_seed)
    except AlreadySeeded as exc:
        err_console.print(f"[yellow]{exc}[/yellow]; nothing changed")
        raise typer.Exit(code=0) from exc
    console.print(f"[green]seeded[/green] tenant 'freshmart' with {len(city.stores)} stores")
    for role, email in city.logins.items():
        console.print(f"  {role:14} {email} / {DEMO_PASSWORD}")


@app.command()
def serve(
    database: DatabaseOption = None,
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    live_orders: bool = typer.Option(
        False,
        "--live-orders",
        help="Move the demo city on the real clock: simulated shoppers order, pickers pick, couriers deliver.",
    ),
    orders_per_hour: float = typer.Option(
        DEFAULT_LIVE_ORDERS_PER_HOUR, "--orders-per-hour", help="Live orders per hour, across the city."
    ),
) -> None:
    """Serve the API and web app."""
    import uvicorn

    from newretail.api.app import create_app
    from newretail.maintenance import MaintenanceLoop
    from newretail.migrate import upgrade

    runtime = _runtime(database)
    upgrade(runtime.engine)
    app_ = create_app(runtime)  # registers the event handlers the maintenance loop redelivers to
    live = start_live_orders(runtime, orders_per_hour) if live_orders else None
    loop = MaintenanceLoop(runtime)
    loop.start()
    try:
        uvicorn.run(app_, host=host, port=port)
    finally:
        if live is not None:
            stop_live_orders(live)
        loop.stop()


def start_live_orders(runtime: Runtime, orders_per_hour: float) -> LiveTraffic:
    """Start the live driver for ``serve`` (exit 2 on a bad rate, 1 without a demo city)."""
    import logging

    from newretail.core.errors import DomainError, ValidationFailed
    from newretail.sim.live import LiveSettings, LiveTraffic

    try:
        live = LiveTraffic(runtime, LiveSettings(orders_per_hour=orders_per_hour))
        city = live.start()
    except DomainError as exc:
        err_console.print(f"[red]live orders: {exc}[/red]")
        raise typer.Exit(code=2 if isinstance(exc, ValidationFailed) else 1) from exc
    # The driver's status lines and warnings, in the server's log style.
    logger = logging.getLogger("newretail.sim.live")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    stores = ", ".join(store.name for store in city.world.stores)
    console.print(
        f"[green]live orders[/green]: about {orders_per_hour:g} an hour at {stores}; "
        "watch them on /ops (log in as admin@freshmart.test)"
    )
    return live


def stop_live_orders(live: LiveTraffic) -> None:
    stopped = live.stop()
    console.print("live orders stopped" if stopped else "[yellow]live orders did not stop in time[/yellow]")


@app.command()
def maintain(database: DatabaseOption = None) -> None:
    """Run the background jobs once: expire cart holds, resolve overdue substitutions, redeliver events,
    prune old published events."""
    from newretail.api.app import create_app
    from newretail.maintenance import run_once

    runtime = _runtime(database)
    create_app(runtime)
    report = run_once(runtime)
    console.print(
        f"expired {report.reservations_expired} reservations, resolved {report.substitutions_resolved} "
        f"substitutions, redelivered {report.events_redelivered} events, "
        f"pruned {report.events_pruned} published events"
    )


def _register_context_commands() -> None:
    from newretail.catalog.cli import app as catalog_app
    from newretail.sim.cli import plan_command, simulate_command

    app.add_typer(catalog_app, name="catalog")
    app.command("simulate")(simulate_command)
    app.command("plan")(plan_command)


_register_context_commands()

if __name__ == "__main__":
    app()
