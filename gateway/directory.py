"""Who is who: customers and contacts from the settings, kept in the store, looked up per mail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.core.model import CustomerRef
from gateway.settings import CustomerSection
from store.customers import Contact, Customer


def sync_customers(session: Session, customers: list[CustomerSection], now: datetime) -> None:
    """Make the store agree with the settings file: add or update customers and their contacts.

    Contacts dropped from the file lose their authorization but keep their row,
    so incidents they opened still name them.
    """
    for section in customers:
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
            contact.authorized = contact.address in wanted
            wanted.discard(contact.address)
        for address in sorted(wanted):
            session.add(Contact(customer_id=customer.id, address=address, name="",
                                authorized=True, created_at=now))
    session.flush()


def customer_for_contact(session: Session, address: str) -> CustomerRef | None:
    """The customer an authorized contact belongs to (support-programs.md §7), or None."""
    if not address:
        return None
    row = session.execute(
        select(Customer)
        .join(Contact, Contact.customer_id == Customer.id)
        .where(Contact.address == address.lower(), Contact.authorized.is_(True))
    ).scalar_one_or_none()
    if row is None:
        return None
    return CustomerRef(row.id, row.key, row.name, row.plan, row.locale, row.charset)
