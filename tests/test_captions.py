"""Every report caption (report/*.rst) renders cleanly: its Jinja placeholders filled as `snakemake --report` fills
them, then docutils without a single warning or error (the report shows each as a red block in the caption)."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import pytest
from docutils.core import publish_parts
from docutils.utils import SystemMessage
from docutils.writers import get_writer_class
from jinja2 import Environment, StrictUndefined

from labelnoise.config import load_config_file

ROOT = Path(__file__).resolve().parent.parent
CAPTIONS = sorted((ROOT / "report").glob("*.rst"))
# Link targets Snakemake appends to every caption before rendering (snakemake.report: rst_links).
RST_LINKS = "\n\n.. _Workflow: javascript:show_panel('workflow')\n.. _Statistics: javascript:show_panel('statistics')\n"


def render_caption(text: str, dataset: str = "mnist") -> str:
    """The caption's HTML body as the report shows it; SystemMessage on any docutils warning or error."""
    snakemake = SimpleNamespace(wildcards=SimpleNamespace(dataset=dataset), config=load_config_file(ROOT / "config.yaml"))
    # Snakemake's Environment (trim_blocks, lstrip_blocks); StrictUndefined also catches a misspelt placeholder.
    env = Environment(trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
    filled = env.from_string(text + RST_LINKS).render(snakemake=snakemake, categories={}, files=[])
    settings = {"report_level": 2, "halt_level": 2, "warning_stream": io.StringIO()}  # 2: warnings raise
    writer = get_writer_class("html")()  # the writer Snakemake names (writer_name="html")
    return publish_parts(filled, writer=writer, settings_overrides=settings)["body"]


def test_there_are_captions():
    assert len(CAPTIONS) >= 14, [path.name for path in CAPTIONS]


@pytest.mark.parametrize("path", CAPTIONS, ids=lambda path: path.name)
def test_caption_renders_without_docutils_messages(path):
    body = render_caption(path.read_text())
    assert "system-message" not in body and "problematic" not in body
    assert "{{" not in body and "{%" not in body


def test_a_bare_bar_pair_is_caught():
    """|a - b| reads as a substitution reference that nothing defines: an error block in the report."""
    with pytest.raises(SystemMessage, match="Undefined substitution"):
        render_caption("the mean |p(true) - p(counterpart)|.")
    assert "p(true)" in render_caption("the mean ``|p(true) - p(counterpart)|``.")
