"""What `check-config` looks at beyond the settings model: the mistakes that otherwise break at 02:00.

- **Templates**: every template of every locale is compiled and rendered with sample values
  (an undefined name, attribute or call yields another sample), so a syntax error, an unknown
  filter, a missing include or a missing `subject`/`body` block is found now, naming the file
  and line. A name that exists in one locale must exist in every locale (a deleted
  `ja/status.txt.j2` would fail the first status report to a Japanese customer). In a
  `templates_dir` of your own, a template may only use the names the built-in one of the same
  purpose uses: the gateway gives no others, and an unknown one fails every mail that needs it.
- **Warnings** for a listener on a non-loopback address: no `[relay]` (every letter goes to a
  folder and reaches nobody), no engineers (nobody is told of new incidents), SMTP without
  STARTTLS.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, TemplateError, TemplateNotFound, TemplateSyntaxError, Undefined, meta

from gateway.settings import Problem, Settings
from gateway.settings_sections import BUILTIN_TEMPLATES, is_loopback

LOCALES = ("ja", "en")
KEY = "gateway.templates_dir"
# What gateway.render.Renderer and the quarterly report give every template.
ALWAYS_GIVEN = frozenset({"gateway_name", "ref", "reference", "locale", "severity_label"})


class Sample(Undefined):
    """Any value a template asks for: prints as "sample", has every attribute, is true, iterates as empty."""

    __slots__ = ()

    def __str__(self) -> str:
        return "sample"

    def __getattr__(self, name: str) -> Sample:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key: object) -> Sample:
        return self

    def __call__(self, *args: object, **kwargs: object) -> Sample:
        return self

    def __bool__(self) -> bool:
        return True

    def __len__(self) -> int:
        return 1

    def __int__(self) -> int:
        return 1

    def __float__(self) -> float:
        return 1.0

    def __add__(self, other: object) -> Sample:
        return self

    def __lt__(self, other: object) -> bool:
        return False

    __index__ = __int__
    __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __mod__ = __add__
    __le__ = __gt__ = __ge__ = __lt__


def template_problems(folder: Path) -> list[Problem]:
    """Every problem of the templates in `folder`, each naming its file (and line where there is one)."""
    names = _expected_names(folder)
    environment = Environment(loader=FileSystemLoader(str(folder)), undefined=Sample, autoescape=False,
                              keep_trailing_newline=True)
    problems = [Problem(KEY, f"missing (the {_locale_of(name)} letters of this kind need it)", folder / name)
                for name in names if not (folder / name).is_file()]
    for name in names:
        if (folder / name).is_file():
            problems += _problems_of(environment, folder, name)
    return problems


def _expected_names(folder: Path) -> list[str]:
    """Each template name, in every locale: the built-in set's and any the folder adds."""
    stems = {path.name for base in {BUILTIN_TEMPLATES, folder} for locale in LOCALES
             for path in (base / locale).glob("*.j2")}
    return sorted(f"{locale}/{stem}" for locale in LOCALES for stem in stems)


def _locale_of(name: str) -> str:
    return {"ja": "Japanese", "en": "English"}[name.split("/", 1)[0]]


def _problems_of(environment: Environment, folder: Path, name: str) -> list[Problem]:
    path = folder / name
    try:
        template = environment.get_template(name)
        blocks = {"subject", "body"} - set(template.blocks) if name.endswith(".txt.j2") else set()
        if blocks and not Path(name).name.startswith("_"):
            return [Problem(KEY, f"has no {' or '.join(sorted(blocks))} block", path)]
        template.render(locale=name.split("/", 1)[0], gateway_name="Support", ref="INC-000001",
                        reference="sample", severity_label=lambda level: str(level))
    except TemplateSyntaxError as exc:
        return [Problem(KEY, exc.message or str(exc), Path(exc.filename or path), exc.lineno)]
    except TemplateNotFound as exc:
        return [Problem(KEY, f"includes {exc.name}, which does not exist", path, _line_in(exc, path))]
    except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
        return [Problem(KEY, f"cannot be rendered with sample values: {exc}", path, _line_in(exc, path))]
    return _unknown_names(environment, folder, name)


def _line_in(error: BaseException, path: Path) -> int | None:
    """The template line the error happened on (Jinja puts template frames in the traceback)."""
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == str(path)]
    return lines[-1] if lines else None


def _unknown_names(environment: Environment, folder: Path, name: str) -> list[Problem]:
    """In your own templates_dir: names the built-in template of the same purpose does not use."""
    builtin = BUILTIN_TEMPLATES / name
    if folder.resolve() == BUILTIN_TEMPLATES.resolve() or not builtin.is_file():
        return []
    given = _names_used(environment, builtin.read_text(encoding="utf-8")) | ALWAYS_GIVEN
    unknown = _names_used(environment, (folder / name).read_text(encoding="utf-8")) - given
    if not unknown:
        return []
    return [Problem(KEY, f"uses {', '.join(sorted(unknown))}, which the gateway does not give this template "
                         f"(it gives: {', '.join(sorted(given))})", folder / name)]


def _names_used(environment: Environment, source: str) -> set[str]:
    return set(meta.find_undeclared_variables(environment.parse(source)))


def public_listener_warnings(settings: Settings) -> list[Problem]:
    """Settings that are fine on a laptop and wrong on a listener other machines can reach."""
    public = [f"smtp.host {settings.smtp.host}"] if not is_loopback(settings.smtp.host) else []
    if settings.lmtp is not None and settings.lmtp.public:
        public.append(f"lmtp.listen {settings.lmtp.listen}")
    if not public:
        return []
    where = " and ".join(public)
    warnings = []
    if settings.relay is None:
        warnings.append(Problem("relay", f"none, yet {where} is not loopback: every letter goes to the folder "
                                         f"{settings.outbox_folder} and reaches nobody", warning=True))
    engineers = settings.engineers
    if not (engineers.addresses or engineers.domains or engineers.queue_address):
        warnings.append(Problem("engineers", f"none, yet {where} is not loopback: nobody is told of new "
                                             "incidents and no engineer's reply is recognised", warning=True))
    if not is_loopback(settings.smtp.host) and settings.smtp.tls_cert is None:
        warnings.append(Problem("smtp.tls_cert", f"none: mail to {settings.smtp.host}:{settings.smtp.port} "
                                                 "travels in plain text (STARTTLS, RFC 3207)", warning=True))
    return warnings



def metrics_warnings(settings: Settings) -> list[Problem]:
    """`[metrics]` on an address other machines reach: /metrics names customers' mailboxes and has no login."""
    if settings.metrics is None or not settings.metrics.public:
        return []
    return [Problem("metrics.listen", f"{settings.metrics.listen} is not loopback: anyone who reaches it reads "
                                      "the figures and mailbox names (no login); listen on 127.0.0.1 and let "
                                      "Prometheus scrape through a tunnel or a proxy", warning=True)]
