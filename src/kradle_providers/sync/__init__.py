"""Sync: phase machines (:mod:`.phases`) and the durable records the engine keeps (:mod:`.records`).

Import from the submodules; this package stays light so importing it costs nothing.
"""
