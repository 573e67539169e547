"""Source plugins, each registering itself through the incidentlake.plugins entry point."""
