"""`support-gateway customers …`: list, show, add customers and contacts, seed them from TOML or CSV.

Contacts added or removed here belong to the CLI from then on (the settings
sync leaves them alone, gateway.work.directory). The §7 limit of 8 authorized
contacts per customer is enforced for every change; a seed file is applied
all or nothing.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.ops import views
from gateway.ops.cli_common import json_line
from gateway.clock import SystemClock
from gateway.work.directory import DirectoryError, add_contact, add_customer, remove_contact
from gateway.plans import load_plans
from gateway.settings import CustomerSection, Settings, load_settings
from store.bounces import BouncedAddress, resume_mail
from store.customers import Contact, Customer


def register(commands: Any, config_path: Any) -> None:
    """Add the `customers` subcommands to the CLI's parser."""
    parser = commands.add_parser("customers", help="customers and their authorized contacts (at most 8)")
    sub = parser.add_subparsers(dest="customers_command", required=True, metavar="COMMAND",
                                help="what to do with customers")
    json_help = "one JSON object per line instead of text"
    listing = sub.add_parser("list", help="every customer with its plan and number of contacts")
    listing.add_argument("--json", action="store_true", help=json_help)
    show = sub.add_parser("show", help="one customer: plan, domains and authorized contacts")
    show.add_argument("key", help="the customer key")
    show.add_argument("--json", action="store_true", help=json_help)
    add = sub.add_parser("add", help="add a customer (contacts come with add-contact)")
    add.add_argument("key", help="the new customer's key: lower-case letters, digits, - and _")
    add.add_argument("--name", required=True, help="the customer's full name")
    add.add_argument("--plan", required=True, help="a support plan, built-in or from gateway.plans_dir")
    add.add_argument("--locale", choices=["ja", "en"], default="ja", help="language of its mail (default: ja)")
    add.add_argument("--charset", choices=["utf-8", "iso-2022-jp"], default="utf-8",
                     help="charset of mail to it (default: utf-8)")
    add.add_argument("--domain", action="append", default=[], help="a mail domain of the customer (repeatable)")
    add_c = sub.add_parser("add-contact", help="authorize an address to open incidents for a customer")
    add_c.add_argument("key", help="the customer key")
    add_c.add_argument("address", help="the contact's e-mail address")
    add_c.add_argument("--name", default="", help="the contact's name")
    remove_c = sub.add_parser("remove-contact", help="withdraw an address's authority to open incidents")
    remove_c.add_argument("key", help="the customer key")
    remove_c.add_argument("address", help="the contact's e-mail address")
    resume = sub.add_parser("resume-mail", help="automatic mail to an address whose mail bounced starts again")
    resume.add_argument("address", help="the address, as `customers show` lists it under bounced")
    seed = sub.add_parser("seed", help="add customers and contacts from a .toml ([[customers]]) or .csv file")
    seed.add_argument("file", help="a .toml file with [[customers]] tables, or a .csv, one row per contact")
    for command in sub.choices.values():
        command.set_defaults(func=lambda args: run(args, config_path(args)))


def run(args: argparse.Namespace, config: Path) -> int:
    settings = load_settings(config)
    now = SystemClock().now()
    try:
        with views.open_sessions(settings) as sessions:
            if args.customers_command in ("list", "show"):
                with sessions() as session:
                    return _read(session, args)
            with sessions.begin() as session:
                message = _change(session, settings, args, now)
    except DirectoryError as exc:
        print(f"support-gateway: {exc}", file=sys.stderr)
        return 1
    print(message)
    return 0


def _read(session: Session, args: argparse.Namespace) -> int:
    if args.customers_command == "list":
        for customer in session.scalars(select(Customer).order_by(Customer.key)):
            row = _summary(customer)
            print(json_line(row) if args.json else
                  f"{row['key']:<16} {row['plan']:<16} {row['locale']}  {len(row['contacts'])}/8 contacts  {row['name']}")
        return 0
    customer = session.scalar(select(Customer).where(Customer.key == args.key))
    if customer is None:
        print(f"no customer {args.key}", file=sys.stderr)
        return 1
    row = _summary(customer)
    row["bounced"] = _bounced(session, customer)
    if args.json:
        print(json_line(row))
        return 0
    print(f"{row['key']}: {row['name']} (plan {row['plan']}, {row['locale']}, {row['charset']})")
    print(f"  domains:  {', '.join(row['domains']) or '-'}")
    for contact in row["contacts"]:
        print(f"  contact:  {contact['address']}  {contact['name']}  ({contact['source']})")
    for bounced in row["bounced"]:
        stopped = f"automatic mail stopped {bounced['suppressed_at']}" if bounced["suppressed_at"] else "still mailed"
        print(f"  bounced:  {bounced['address']}  {bounced['hard_bounces']} hard, {bounced['soft_bounces']} soft, "
              f"last {bounced['last_status'] or '-'} {bounced['last_bounced_at']}  ({stopped})")
    return 0


def _bounced(session: Session, customer: Customer) -> list[dict[str, Any]]:
    """Addresses of the customer (contacts, its domains) that bounced our mail (issue 13)."""
    addresses = [c.address for c in customer.contacts]
    domains = [d.lower() for d in customer.domains or []]
    rows = session.scalars(select(BouncedAddress).order_by(BouncedAddress.address)).all() if domains else \
        session.scalars(select(BouncedAddress).where(BouncedAddress.address.in_(addresses))).all()
    return [{"address": r.address, "hard_bounces": r.hard_bounces, "soft_bounces": r.soft_bounces,
             "last_status": r.last_status, "last_diagnostic": r.last_diagnostic,
             "last_bounced_at": r.last_bounced_at.isoformat(),
             "suppressed_at": r.suppressed_at.isoformat() if r.suppressed_at else None}
            for r in rows if r.address in addresses or r.address.rpartition("@")[2] in domains]


def _summary(customer: Customer) -> dict[str, Any]:
    contacts: list[Contact] = [c for c in customer.contacts if c.authorized]
    return {"key": customer.key, "name": customer.name, "plan": customer.plan, "locale": customer.locale,
            "charset": customer.charset, "domains": list(customer.domains or []),
            "contacts": [{"address": c.address, "name": c.name, "source": c.source} for c in contacts]}


def _change(session: Session, settings: Settings, args: argparse.Namespace, now: datetime) -> str:
    command = args.customers_command
    if command == "add":
        _check_plan(settings, args.plan)
        add_customer(session, args.key, args.name, args.plan, locale=args.locale, charset=args.charset,
                     domains=args.domain, now=now)
        return f"customer {args.key} added"
    if command == "add-contact":
        add_contact(session, args.key, args.address, args.name, now)
        return f"{args.address.lower()} may now open incidents for {args.key}"
    if command == "remove-contact":
        remove_contact(session, args.key, args.address)
        return f"{args.address.lower()} may no longer open incidents for {args.key}"
    if command == "resume-mail":
        row = resume_mail(session, args.address)
        if row is None:
            raise DirectoryError(f"{args.address.lower()} has no recorded bounces")
        was = "had stopped" if row.suppressed_at else "had not stopped"
        return (f"{row.address}: {row.hard_bounces} hard and {row.soft_bounces} soft bounce(s) forgotten; "
                f"automatic mail to it ({was}) goes out again")
    return _seed(session, settings, Path(args.file), now)


def _check_plan(settings: Settings, plan: str) -> None:
    plans = load_plans(settings.gateway.plans_dir).plans
    if plan not in plans:
        raise DirectoryError(f"unknown plan {plan!r} (known: {', '.join(sorted(plans))})")


def _seed(session: Session, settings: Settings, path: Path, now: datetime) -> str:
    sections = _read_seed(path)
    added = 0
    for section in sections:
        _check_plan(settings, section.plan)
        customer = session.scalar(select(Customer).where(Customer.key == section.key))
        if customer is None:
            add_customer(session, section.key, section.name, section.plan, locale=section.locale,
                         charset=section.charset, domains=section.domains, now=now)
        for address in section.contacts:
            existing = session.scalar(select(Contact).where(Contact.address == address))
            if existing is not None and existing.authorized and existing.customer.key == section.key:
                continue
            add_contact(session, section.key, address, "", now)
            added += 1
    return f"{path}: {len(sections)} customer(s), {added} contact(s) added"


def _read_seed(path: Path) -> list[CustomerSection]:
    try:
        if path.suffix.lower() == ".csv":
            raw = _csv_customers(path)
        else:
            raw = tomllib.loads(path.read_text(encoding="utf-8")).get("customers", [])
        return [CustomerSection.model_validate(item) for item in raw]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, csv.Error) as exc:
        raise DirectoryError(f"{path}: cannot read: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise DirectoryError(f"{path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def _csv_customers(path: Path) -> list[dict[str, Any]]:
    """Columns key,name,plan,locale,charset,domains,contact: one row per contact; domains `;`-separated."""
    customers: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            key = (row.get("key") or "").strip()
            entry = customers.setdefault(key, {
                "key": key, "name": (row.get("name") or "").strip(), "plan": (row.get("plan") or "").strip(),
                "locale": (row.get("locale") or "ja").strip(), "charset": (row.get("charset") or "utf-8").strip(),
                "domains": [d.strip() for d in (row.get("domains") or "").split(";") if d.strip()],
                "contacts": [],
            })
            if (row.get("contact") or "").strip():
                entry["contacts"].append(row["contact"].strip())
    return list(customers.values())

