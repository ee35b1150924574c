"""Jinja2 templates of every message vma sends (installed as ``vma.templates``)."""
