"""Messages from Jinja2 templates, one pair of files per template and locale:

- `templates/<locale>/<name>.txt`: blocks `subject`, `text` (the plain-text email) and `short`
  (SMS and push body), rendered without escaping;
- `templates/<locale>/<name>.html`: the HTML email, extending `<locale>/_layout.html`, rendered
  with autoescaping (event data cannot inject markup).

Undefined variables are errors (StrictUndefined): a template that needs a parameter the event
did not carry fails loudly in the consumer (and is retried, then dead-lettered), instead of
sending an email with a hole in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape

from services.notifications.domain import format_money, pick_locale, template_spec

TEMPLATE_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    short: str


class Renderer:
    def __init__(self, directory: Path = TEMPLATE_DIR):
        self.env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["money"] = format_money

    def render(self, name: str, *, locale: str | None, params: dict[str, Any]) -> Rendered:
        """Raises `UnknownTemplate` for a name that is not in the registry."""
        template_spec(name)
        lang = pick_locale(locale)
        try:
            text = self.env.get_template(f"{lang}/{name}.txt")
            html = self.env.get_template(f"{lang}/{name}.html")
        except TemplateNotFound:  # registered but not translated: English rather than nothing
            text = self.env.get_template(f"en/{name}.txt")
            html = self.env.get_template(f"en/{name}.html")
        context = {"name": None, "unsubscribe_url": None, **params}
        ctx = text.new_context(context)

        def block(part: str) -> str:
            return "".join(text.blocks[part](ctx)).strip()

        return Rendered(subject=" ".join(block("subject").split()), text=block("text") + "\n",
                        html=html.render(context), short=" ".join(block("short").split()))
