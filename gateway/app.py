"""The long-lived things every unit of work needs, built once from the settings."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from gateway.core.authenticity import AuthPolicy
from gateway.core.decide import Policy
from gateway.core.plan import Duration, Plan, Target, with_agreed_reports
from gateway.plans import PlanBook, PlanError, load_plans
from gateway.render import Renderer
from gateway.settings import Settings, SettingsError
from gateway.token_secret import load_token_secret
from parsers.model import Limits


@dataclass(frozen=True)
class App:
    settings: Settings
    plans: PlanBook
    renderer: Renderer
    policy: Policy

    def plan_for(self, plan_name: str, customer_key: str) -> Plan:
        """The plan as it applies to one customer: "per-agreement" reports replaced by the agreed cadence."""
        plan = self.plans.get(plan_name)
        customer = next((c for c in self.settings.customers if c.key == customer_key), None)
        if customer is None or customer.status_report is None:
            return plan
        return with_agreed_reports(plan, Target(Duration.parse(customer.status_report.every),
                                                customer.status_report.clock))

    @property
    def limits(self) -> Limits:
        """What one inbound mail may cost the parser ([mail] max_*)."""
        mail = self.settings.mail
        return Limits(max_header_fields=mail.max_header_fields, max_header_bytes=mail.max_header_bytes,
                      max_mime_depth=mail.max_mime_depth, max_parts=mail.max_parts,
                      max_attachments=mail.max_attachments)

    @property
    def sender_address(self) -> str:
        return self.settings.gateway.sender_address

    @property
    def sender_domain(self) -> str:
        return self.sender_address.rsplit("@", 1)[1]


def build_app(settings: Settings, *, create_secret: bool = True) -> App:
    """Load plans, templates and the reply-token secret; check that every customer's plan exists.

    `create_secret=False` is for commands that store nothing (inspect, check-config).
    """
    plans_dir = settings.gateway.plans_dir
    if plans_dir is not None and not plans_dir.is_dir():
        raise SettingsError(f"gateway.plans_dir: no such folder: {plans_dir}")
    try:
        plans = load_plans(plans_dir)
    except PlanError as exc:
        raise SettingsError(f"gateway.plans_dir: {exc}") from None
    for index, customer in enumerate(settings.customers):
        if customer.plan not in plans.plans:
            known = ", ".join(sorted(plans.plans))
            raise SettingsError(f"customers[{index}].plan: unknown plan {customer.plan!r} (known: {known})")
    _check_escalation_rungs(settings, plans)
    if not (settings.gateway.templates_dir / "en" / "ack.txt.j2").is_file():
        raise SettingsError(f"gateway.templates_dir: no templates in {settings.gateway.templates_dir}")
    own = frozenset(settings.gateway.support_addresses) | {settings.gateway.sender_address}
    return App(
        settings=settings,
        plans=plans,
        renderer=Renderer(settings.gateway.templates_dir),
        policy=Policy(
            own_addresses=own,
            loop_marker=settings.gateway.loop_marker,
            token_secret=load_token_secret(settings, create=create_secret),
            held_reply=settings.gateway.held_reply,
            workaround_plans=frozenset(name for name, plan in plans.plans.items() if plan.workaround_downgrade),
            escalation_ladders={name: plan.customer_escalation_ladder for name, plan in plans.plans.items()
                                if plan.customer_escalation_ladder},
            authentication=_authentication_policy(settings),
            engineer_queue=settings.engineers.queue_address,
            accept_automatic_from=frozenset(settings.mail.accept_automatic_from),
            hard_bounce_limit=settings.mail.hard_bounce_limit,
        ),
    )


def plan_rungs(plans: PlanBook) -> set[str]:
    """Every escalation rung a plan can reach: the SLA clock's, a customer's and an engineer's."""
    rungs: set[str] = set()
    for plan in plans.plans.values():
        rungs.update(rung.rung for level in (1, 2, 3, 4) for rung in plan.terms(level).escalation)
        rungs.update(plan.customer_escalation_ladder)
        rungs.update([plan.engineer_escalation] if plan.engineer_escalation else [])
        rungs.update([plan.off_hours.on_duty] if plan.off_hours else [])  # who covers off hours (issue 14)
    return rungs


def _check_escalation_rungs(settings: Settings, plans: PlanBook) -> None:
    """An `[escalation]` name no plan uses is a typo: its recipients would never hear of anything."""
    known = plan_rungs(plans)
    problems = []
    for rung in settings.escalation:
        if rung not in known:
            close = difflib.get_close_matches(rung, sorted(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append(f"escalation.{rung}: no plan has this rung; {hint}(rungs: {', '.join(sorted(known))})")
    if problems:
        raise SettingsError(*problems)


def _authentication_policy(settings: Settings) -> AuthPolicy | None:
    section = settings.authentication
    return None if section is None else AuthPolicy(engineers=section.engineers, customers=section.customers)
