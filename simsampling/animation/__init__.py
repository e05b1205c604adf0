"""The animation: one point's first replication redrawn from its event log, nothing simulated again.

``scene`` reads what the results folder (or a run in memory) holds of one point;
``frames`` says where each resident is at each frame; ``layout`` places the point's
entrance, lines, servers and exit on a canvas; ``page`` writes the self-contained
animation.html and ``raster`` the GIF, MP4 and PNG alternatives.
"""

from .page import animation_html
from .scene import AnimationError, Scene

__all__ = ["AnimationError", "Scene", "animation_html"]
