"""Content: platform rules, content templates and the media prompt library.

Submodules: :mod:`~sopbench.content.platforms` (limits per platform),
:mod:`~sopbench.content.templates` (templates rendered without an LLM),
:mod:`~sopbench.content.prompts` (Canva and Sora 2 prompts) and
:mod:`~sopbench.content.checks` (SOP steps against templates and prompts).
Nothing is loaded at import time.
"""
