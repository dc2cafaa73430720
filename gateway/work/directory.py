"""Who is who: customers and contacts (from settings or the CLI), engineers, looked up per mail."""

from __future__ import annotations

import time

from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gateway.core.model import CONTACT, ENGINEER, STRANGER, UNKNOWN_AT_CUSTOMER, CustomerRef, Sender
from gateway.settings import CustomerSection, EngineersSection, SettingsError
from store.customers import Contact, Customer

MAX_CONTACTS = 8  # support-programs.md §7 (002 §3): up to 8 authorized contacts per customer
FROM_SETTINGS = "settings"
FROM_CLI = "cli"
SYNC_LOCK_KEY = 0x5347_0001  # pg_advisory_xact_lock key of sync_customers ("SG", 1)


class DirectoryError(Exception):
    """A change to customers or contacts that the rules refuse; the message says why."""


def sync_customers(session: Session, customers: list[CustomerSection], now: datetime) -> None:
    """Make the store agree with the settings file: add or update customers and their contacts.

    Contacts dropped from the file lose their authorization but keep their row,
    so incidents they opened still name them. A contact added or removed with
    the CLI belongs to the CLI from then on and the file no longer changes it.
    """
    _one_sync_at_a_time(session)
    for index, section in enumerate(customers):
        customer = session.scalar(select(Customer).where(Customer.key == section.key))
        if customer is None:
            customer = Customer(key=section.key, created_at=now)
            session.add(customer)
        customer.name, customer.plan = section.name, section.plan
        customer.locale, customer.charset = section.locale, section.charset
        customer.domains = list(section.domains)
        session.flush()
        wanted = set(section.contacts)
        for contact in session.scalars(select(Contact).where(Contact.customer_id == customer.id)):
            if contact.source == FROM_SETTINGS:
                contact.authorized = contact.address in wanted
            wanted.discard(contact.address)
        for address in sorted(wanted):
            session.add(Contact(customer_id=customer.id, address=address, name="",
                                authorized=True, source=FROM_SETTINGS, created_at=now))
        session.flush()
        _check_contact_limit(session, customer, index)
    session.flush()


def _one_sync_at_a_time(session: Session) -> None:
    """Nodes starting together on one PostgreSQL take turns (issue 15), instead of both inserting
    the same customer key and one failing with UniqueViolation: a transaction-level advisory lock,
    released at commit. SQLite has a single node (gateway.single_node) and one writer anyway.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SYNC_LOCK_KEY})


def _check_contact_limit(session: Session, customer: Customer, index: int) -> None:
    """support-programs.md §7: at most 8 authorized contacts, counting the file and the CLI together."""
    authorized = authorized_count(session, customer.id)
    if authorized > MAX_CONTACTS:
        raise SettingsError(
            f"customers[{index}].contacts: {customer.key} would have {authorized} authorized contacts with "
            f"those added by `support-gateway customers`; a customer may name at most {MAX_CONTACTS} "
            "(the support programs' limit of authorized contacts)")


def _ref(row: Customer) -> CustomerRef:
    return CustomerRef(row.id, row.key, row.name, row.plan, row.locale, row.charset)


def customer_for_contact(session: Session, address: str) -> CustomerRef | None:
    """The customer an authorized contact belongs to (support-programs.md §7), or None."""
    if not address:
        return None
    row = session.execute(  # columns, not an ORM object: this runs for mail after mail
        select(Customer.id, Customer.key, Customer.name, Customer.plan, Customer.locale, Customer.charset)
        .join(Contact, Contact.customer_id == Customer.id)
        .where(Contact.address == address.lower(), Contact.authorized.is_(True))
    ).one_or_none()
    return None if row is None else CustomerRef(*row)


def contact_name_of(session: Session, address: str) -> str:
    """A contact's registered name ("" if none): letters greet the person by it (issue 11)."""
    if not address:
        return ""
    return session.scalar(select(Contact.name).where(Contact.address == address.lower())) or ""


def customer_for_domain(session: Session, address: str) -> CustomerRef | None:
    """The customer whose configured domain the address is at, or None."""
    domain = address.lower().rpartition("@")[2]
    if not domain:
        return None
    for row in session.scalars(select(Customer).order_by(Customer.id)):
        if domain in (d.lower() for d in row.domains or ()):
            return _ref(row)
    return None


def sender_for(session: Session, address: str, engineers: EngineersSection) -> Sender:
    """The role of a mail's From address: engineer, contact, unknown at a customer's domain, stranger."""
    if address and engineers.is_engineer(address):
        return Sender(ENGINEER)
    if (customer := customer_for_contact(session, address)) is not None:
        return Sender(CONTACT, customer, contact_name_of(session, address))
    if address and (customer := customer_for_domain(session, address)) is not None:
        return Sender(UNKNOWN_AT_CUSTOMER, customer)
    return Sender(STRANGER)


class SenderCache:
    """Senders' roles remembered for a short while across processing batches.

    Under load the processor works in small batches, and looking up the same
    few senders in every one of them cost ~5% of its time. A contact added,
    removed or moved takes effect within `ttl_seconds` (default one second).
    """

    def __init__(self, ttl_seconds: float = 1.0, max_entries: int = 10_000) -> None:
        self.ttl_seconds, self.max_entries = ttl_seconds, max_entries
        self._known: dict[str, tuple[Sender, float]] = {}

    def sender(self, session: Session, address: str, engineers: EngineersSection) -> Sender:
        now = time.monotonic()
        known = self._known.get(address)
        if known is not None and known[1] > now:
            return known[0]
        found = sender_for(session, address, engineers)
        if len(self._known) >= self.max_entries:
            self._known.clear()
        self._known[address] = (found, now + self.ttl_seconds)
        return found


def authorized_count(session: Session, customer_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Contact).where(
        Contact.customer_id == customer_id, Contact.authorized.is_(True))) or 0


def add_contact(session: Session, customer_key: str, address: str, name: str, now: datetime) -> Contact:
    """Authorize one more contact of a customer; the ninth is refused (support-programs.md §7)."""
    customer = session.scalar(select(Customer).where(Customer.key == customer_key))
    if customer is None:
        raise DirectoryError(f"no customer {customer_key!r}")
    address = address.strip().lower()
    contact = session.scalar(select(Contact).where(Contact.address == address))
    if contact is not None and contact.customer_id != customer.id:
        raise DirectoryError(f"{address} is already a contact of another customer")
    if contact is not None and contact.authorized:
        raise DirectoryError(f"{address} is already an authorized contact of {customer_key}")
    if authorized_count(session, customer.id) >= MAX_CONTACTS:
        raise DirectoryError(
            f"{customer_key} already has {MAX_CONTACTS} authorized contacts, the most a customer may name "
            "under the support programs; remove one first")
    if contact is None:
        contact = Contact(customer_id=customer.id, address=address, name=name, authorized=True,
                          source=FROM_CLI, created_at=now)
        session.add(contact)
    else:
        contact.authorized, contact.source, contact.name = True, FROM_CLI, name or contact.name
    session.flush()
    return contact


def remove_contact(session: Session, customer_key: str, address: str) -> None:
    """Withdraw a contact's authorization; the row stays so their incidents still name them."""
    contact = session.scalar(select(Contact).join(Customer).where(
        Customer.key == customer_key, Contact.address == address.strip().lower()))
    if contact is None or not contact.authorized:
        raise DirectoryError(f"{address} is not an authorized contact of {customer_key}")
    contact.authorized, contact.source = False, FROM_CLI
    session.flush()


def add_customer(session: Session, key: str, name: str, plan: str, *, locale: str, charset: str,
                 domains: list[str], now: datetime) -> Customer:
    if session.scalar(select(Customer).where(Customer.key == key)) is not None:
        raise DirectoryError(f"customer {key!r} exists already")
    customer = Customer(key=key, name=name, plan=plan, locale=locale, charset=charset,
                        domains=[d.lower().lstrip("@") for d in domains], created_at=now)
    session.add(customer)
    session.flush()
    return customer
