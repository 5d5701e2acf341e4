"""How the TypeScript tests talk to the oracle: JSON requests on stdin, JSON answers on stdout.

Two forms:
  answer_batch(ops)  reads one JSON list of requests, each {"op": NAME, ...}, and writes one JSON list
                     with the answer of each, in order (one process per batch of questions);
  serve_lines(handle) reads one JSON request per line and writes one answer per line, for as long as
                     stdin is open (one process for a whole test file). A request that fails is answered
                     {"id", "error", "trace"} and the loop goes on.
While a request runs, whatever it prints goes to stderr, so stdout carries only answers.
"""

import contextlib
import json
import sys
import traceback


def answer_batch(ops: dict) -> None:
    requests = json.load(sys.stdin)
    answers = []
    with contextlib.redirect_stdout(sys.stderr):
        for request in requests:
            op = request.get("op")
            if op not in ops:
                raise SystemExit(f"unknown op {op!r}; this oracle answers {', '.join(sorted(ops))}")
            answers.append(ops[op](request))
    json.dump(answers, sys.stdout, ensure_ascii=False)
    sys.stdout.flush()


def serve_lines(handle) -> None:
    out = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        with contextlib.redirect_stdout(sys.stderr):
            try:
                response = handle(request)
            except Exception as error:  # the test reports it; keep serving
                response = {"id": request.get("id"), "error": f"{type(error).__name__}: {error}",
                            "trace": traceback.format_exc()}
        out.write(json.dumps(response) + "\n")
        out.flush()
