"""`python -m tests.integration.pipeline.launch <incidentlake args>`: the real CLI with the
`pipefake` test plugin installed (as a builtin), for tests that run `serve`/`trigger` as
subprocesses."""

from __future__ import annotations

from core import registry

registry.BUILTIN["pipefake"] = "tests.integration.pipeline.fakes:plugin"

if __name__ == "__main__":
    from core.cli import main

    main()
