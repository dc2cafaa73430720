"""`support-gateway customers …` as an operator uses it, against SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.ops.cli import main
from tests.e2e.test_cli import _write_config


@pytest.fixture
def config(tmp_path: Path, db_url: str) -> Path:
    path = _write_config(tmp_path, db_url)
    assert main(["--config", str(path), "db", "upgrade"]) == 0
    return path


def customers(config: Path, *args: str) -> int:
    return main(["--config", str(config), "customers", *args])


def test_a_customer_and_contacts_added_with_the_cli_are_listed(config: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert customers(config, "add", "zeta", "--name", "Zeta KK", "--plan", "tam", "--domain", "zeta.test") == 0
    assert customers(config, "add-contact", "zeta", "Boss@Zeta.test", "--name", "Boss") == 0
    capsys.readouterr()
    assert customers(config, "show", "zeta", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["plan"] == "tam" and [c["address"] for c in shown["contacts"]] == ["boss@zeta.test"]


def test_a_ninth_contact_is_refused_with_a_clear_error(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    customers(config, "add", "zeta", "--name", "Zeta KK", "--plan", "tam")
    for index in range(8):
        assert customers(config, "add-contact", "zeta", f"c{index}@zeta.test") == 0
    assert customers(config, "add-contact", "zeta", "c8@zeta.test") == 1
    assert "already has 8 authorized contacts" in capsys.readouterr().err


def test_removing_a_contact_frees_a_place(config: Path) -> None:
    customers(config, "add", "zeta", "--name", "Zeta KK", "--plan", "tam")
    for index in range(8):
        customers(config, "add-contact", "zeta", f"c{index}@zeta.test")
    assert customers(config, "remove-contact", "zeta", "c0@zeta.test") == 0
    assert customers(config, "add-contact", "zeta", "c8@zeta.test") == 0


def test_unknown_plan_is_refused(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert customers(config, "add", "zeta", "--name", "Zeta", "--plan", "platinum") == 1
    assert "unknown plan 'platinum'" in capsys.readouterr().err


def test_seed_from_csv_adds_customers_and_contacts(config: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    seed = tmp_path / "seed.csv"
    seed.write_text("key,name,plan,locale,charset,domains,contact\n"
                    "zeta,Zeta KK,tam,ja,utf-8,zeta.test,a@zeta.test\n"
                    "zeta,,,,,,b@zeta.test\n", encoding="utf-8")
    assert customers(config, "seed", str(seed)) == 0
    capsys.readouterr()
    customers(config, "show", "zeta", "--json")
    assert [c["address"] for c in json.loads(capsys.readouterr().out)["contacts"]] == ["a@zeta.test", "b@zeta.test"]


def test_seed_from_toml_that_would_make_nine_contacts_changes_nothing(config: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    seed = tmp_path / "seed.toml"
    contacts = ", ".join(f'"c{i}@example.test"' for i in range(7))
    seed.write_text(f'[[customers]]\nkey = "demo"\nname = "Demo"\nplan = "enhanced"\ncontacts = [{contacts}]\n',
                    encoding="utf-8")
    main(["--config", str(config), "customers", "list"])  # demo has alice and bob only after a daemon sync
    from gateway.work.directory import sync_customers
    from gateway.settings import load_settings
    from gateway.ops import views
    from tests.conftest import T0

    settings = load_settings(config)
    with views.open_sessions(settings) as sessions, sessions.begin() as session:
        sync_customers(session, settings.customers, T0)
    capsys.readouterr()
    assert customers(config, "seed", str(seed)) == 1
    assert "already has 8 authorized contacts" in capsys.readouterr().err
    customers(config, "show", "demo", "--json")
    assert len(json.loads(capsys.readouterr().out)["contacts"]) == 2
