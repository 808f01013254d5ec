"""``essaybook preview``: the book served as the e-book reads, rebuilt and reloaded on every save.

``builder`` keeps the book up to date through the pipeline, ``pdf`` rebuilds the PDF in the background,
``server`` answers the browser; ``preview_client.js`` is the script every served page carries.
"""

from essaybook.commands.preview.builder import Builder, Site
from essaybook.commands.preview.server import Hub, Preview, serve

__all__ = ["Builder", "Hub", "Preview", "Site", "serve"]
