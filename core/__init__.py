"""incidentlake core: the framework every source plugin runs in."""

__version__ = "0.1.0"
