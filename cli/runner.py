"""The deployment runner as a stack starts it: flows/serve.py, tied to the stack's life.

Started as `python -m cli.runner`. The runner starts each flow run as a process of its
own (`python -m prefect.engine`), in the runner's process group, and that process
drives a browser. When the stack dies, the runner takes the whole group down: told by
the kernel (GROUP_SIGNAL, see cli/lifeline.py) or by its watchdog, so no batch goes on
in the background.
"""

from __future__ import annotations

from cli.lifeline import stop_group_on_signal, watch_lifeline

if __name__ == "__main__":
    stop_group_on_signal()
    watch_lifeline()
    from flows.serve import serve_deployments

    serve_deployments()
