"""``newretail catalog import``: a sentence per bad row and exit code 1; nothing imported."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from newretail.catalog import services
from newretail.catalog.tables import products
from newretail.cli import app
from newretail.core.db import make_engine
from newretail.core.runtime import Runtime
from newretail.core.settings import Settings
from newretail.migrate import upgrade
from newretail.tenancy import services as tenancy


def test_cli_import_exits_1_with_a_sentence_per_bad_row_and_imports_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    runtime = Runtime(engine=engine, settings=Settings(database_url=url))
    tenant_id = tenancy.create_tenant(runtime.uow(), slug="clitest", name="CLI Test")
    store = tenancy.open_store(
        runtime.uow(),
        tenant_id=tenant_id,
        name="Central",
        address="1 High St",
        lat=51.5,
        lon=-0.12,
        delivery_radius_m=3219,
    )
    header = "sku,gtin,name,brand,category,sold_by,unit_weight_g,temperature_zone,price_minor,aisle,bay,shelf\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(
        header
        + "BAK-1,5000159484695,Seeded Loaf 800g,Millbrook,Bakery,each,800,ambient,175,3,1,1\n"
        + "BAK-2,5000159484696,Bad Check,Millbrook,Bakery,each,800,ambient,175,3,1,1\n"
        + "BAK-3,4006381333931,No Price Format,Millbrook,Bakery,each,800,ambient,1.75,3,1,1\n"
    )
    runner = CliRunner()
    args = ["catalog", "import", "--store", store.id, "--tenant", "clitest", "--database", url]
    result = runner.invoke(app, [*args[:2], str(bad), *args[2:]])
    assert result.exit_code == 1, result.output
    assert "Line 3, gtin: GTIN check digit is wrong (got '5000159484696')." in result.stderr
    assert "Line 4, price_minor: must be a whole number of minor units" in result.stderr
    assert "nothing changed" in result.stderr
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(products)).scalar_one() == 0

    good = tmp_path / "good.csv"
    good.write_text(header + "BAK-1,5000159484695,Seeded Loaf 800g,Millbrook,Bakery,each,800,ambient,175,3,1,1\n")
    result = runner.invoke(app, [*args[:2], str(good), *args[2:]])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.stdout
    loaf = services.product_by_gtin(runtime.uow(), tenant_id, "5000159484695")
    assert services.price_lines(runtime.uow(), tenant_id, store.id, [loaf.id])[loaf.id].amount == 175

    unknown = runner.invoke(app, ["catalog", "import", str(good), "--tenant", "nobody", "--database", url])
    assert unknown.exit_code == 1
    engine.dispose()
