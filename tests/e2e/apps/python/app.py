"""Minimal instrumented service for the end-to-end tests (Python twin of ../go).

It emits a known number of spans through the real OpenTelemetry Python SDK and
then keeps running like a daemon, so the tests can check both what arrived at
the collector and that the systemd unit stays up.

The exporter is configured ONLY by the standard OTEL_* environment variables,
exactly what the exporter role writes, through the same path as the
`opentelemetry-instrument` wrapper (distro + SDK configurator): the point of
the test is that an unmodified SDK picks that configuration up, so there is
no endpoint or TLS code here.

E2E_SPANS (default 20, 0 = forever) and E2E_RATE (spans per second, default
10) shape the traffic; every span is "e2e-span" with e2e.seq = 1, 2, 3, ...
so the tests can spot gaps and duplicates.
"""

import logging
import os
import signal
import sys
import threading
import time


def env_int(name, default):
    """A typo must fail loudly, not run with a default the test never asked for."""
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        sys.exit("e2e: %s=%r is not a non-negative integer" % (name, raw))
    return value


def main():
    total = env_int("E2E_SPANS", 20)
    rate = env_int("E2E_RATE", 10)
    if rate == 0:
        sys.exit("e2e: E2E_RATE must be > 0")

    # Export errors are logged by the SDK through `logging`; give them a
    # timestamp on stderr (journald) instead of the bare last-resort handler.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    # The app only makes spans. The distro would default the metrics and logs
    # exporters to otlp as well (and fail on a traces-only collector), so turn
    # them off unless the environment says otherwise.
    os.environ.setdefault("OTEL_METRICS_EXPORTER", "none")
    os.environ.setdefault("OTEL_LOGS_EXPORTER", "none")

    # What `opentelemetry-instrument` does at start-up: load the distro (which
    # defaults OTEL_TRACES_EXPORTER=otlp and, unlike the spec and Go, the
    # protocol to grpc) and the SDK configurator, which maps "otlp" plus
    # OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL to the grpc or http/protobuf
    # exporter; that exporter reads the rest of OTEL_*. Imported here, after
    # the defaults above. Don't swallow errors: a bad configuration must make
    # the unit fail visibly, not run with a no-op tracer.
    # pylint: disable-next=import-outside-toplevel
    from opentelemetry.instrumentation.auto_instrumentation import initialize
    # pylint: disable-next=import-outside-toplevel
    from opentelemetry import trace
    initialize(swallow_exceptions=False)
    provider = trace.get_tracer_provider()
    if not hasattr(provider, "force_flush"):
        sys.exit("e2e: the SDK tracer provider was not configured (%r)" % provider)

    stop = threading.Event()

    def on_signal(signum, _frame):
        # Only flag it: flushing from a signal handler could deadlock on the
        # batch processor's lock.
        logging.getLogger("e2e").info("signal %d", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    tracer = trace.get_tracer("otlp-tls-e2e")
    period = 1.0 / rate
    start = time.monotonic()
    sent = 0
    while total == 0 or sent < total:
        # Pace against the start time, so slow exports don't lower the rate.
        if stop.wait(max(0.0, start + (sent + 1) * period - time.monotonic())):
            break
        sent += 1
        # A fresh root span per tick: one span per trace keeps the check simple.
        tracer.start_span("e2e-span", attributes={"e2e.seq": sent}).end()

    if not stop.is_set():
        # Bounded by OTEL_EXPORTER_OTLP_TIMEOUT inside the exporter.
        if not provider.force_flush(30000):
            logging.getLogger("e2e").warning("flush did not complete")
        # "sent" = handed to the SDK; whether it arrived is for the collector
        # side of the test to say. flush: stdout is a pipe under systemd.
        print("e2e: sent %d spans" % sent, flush=True)
        # Stay up like a real service until systemd stops us (a timed wait
        # so the signal handler's flag is seen promptly in any case).
        while not stop.wait(1):
            pass
    else:
        print("e2e: sent %d spans" % sent, flush=True)

    # Shutdown flushes whatever the batcher still holds (the E2E_SPANS=0 case).
    provider.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
