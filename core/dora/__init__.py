"""DORA for projects: incidents rebuilt from issues, incident → deployment links, metrics in SQL.

Reads domain tables only (and `projects` for a project's settings); knows no route or CLI.
"""
