"""The commands, each thin over :mod:`essaybook.pipeline`: it drives the stages and adds only what is its own.

``build`` numbers the steps and writes ``dist/``; ``check`` reports; ``init`` starts a project; ``preview``
serves; ``proof`` draws pages.
"""
