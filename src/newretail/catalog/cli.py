"""``newretail catalog ...`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from newretail.catalog import services
from newretail.catalog.import_csv import CatalogImportRejected, ImportMode
from newretail.core.errors import DomainError
from newretail.core.runtime import Runtime
from newretail.core.settings import get_settings
from newretail.seed import DEMO_TENANT
from newretail.tenancy.repository import TenancyRepository

app = typer.Typer(help="Catalog: products, barcodes, store prices and shelf locations.", no_args_is_help=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
console = Console(highlight=False, soft_wrap=True)


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="the CSV file")],
    store: Annotated[
        str | None, typer.Option("--store", help="store id: price_minor, aisle, bay and shelf apply to it")
    ] = None,
    tenant: Annotated[str, typer.Option("--tenant", help="the retailer's slug")] = DEMO_TENANT,
    mode: Annotated[
        ImportMode, typer.Option("--mode", help="create: new products only; upsert: update existing SKUs")
    ] = ImportMode.CREATE,
    database: Annotated[
        str | None, typer.Option("--database", envvar="NEWRETAIL_DATABASE_URL", help="SQLAlchemy URL")
    ] = None,
) -> None:
    """Import a catalog CSV, all rows or none. Exits 1 with one sentence per bad row."""
    from newretail.migrate import upgrade

    settings = get_settings()
    if database:
        settings = settings.model_copy(update={"database_url": database})
    runtime = Runtime.from_settings(settings)
    upgrade(runtime.engine)
    with runtime.uow() as uow:
        row = TenancyRepository(uow.conn).tenant_by_slug(tenant)
    if row is None:
        err_console.print(f"There is no retailer {tenant!r} in this database.")
        raise typer.Exit(code=1)
    try:
        summary = services.import_catalog_csv(
            runtime.uow(), tenant_id=row.id, data=file.read_bytes(), store_id=store, mode=mode
        )
    except CatalogImportRejected as exc:
        for error in exc.errors:
            err_console.print(f"Line {error.line}, {error.field}: {error.reason}.")
        err_console.print(f"{file} was not imported: {len(exc.errors)} problem(s), nothing changed.")
        raise typer.Exit(code=1) from exc
    except DomainError as exc:
        err_console.print(f"{file} was not imported: {exc.message}.")
        raise typer.Exit(code=1) from exc
    console.print(
        f"imported {file}: {summary.products_created} created, {summary.products_updated} updated, "
        f"{summary.products_unchanged} unchanged, {summary.prices_set} prices and "
        f"{summary.locations_set} shelf locations set"
    )
