package e2e;

import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import sun.misc.Signal;

/**
 * E2E test app: emits E2E_SPANS spans named "e2e-span" (attribute e2e.seq = 1..N) at
 * E2E_RATE per second through the OpenTelemetry API, then stays up until SIGTERM.
 *
 * <p>It has no exporter code at all: the OpenTelemetry Java agent (-javaagent) bridges
 * GlobalOpenTelemetry to its own SDK, which it configures from the OTEL_* environment.
 * That is the point of the test: the exporter role's environment alone must work.
 */
public final class Main {
  public static void main(String[] args) throws Exception {
    long total = longEnv("E2E_SPANS", 20); // 0 = forever
    double rate = Math.max(0.001, longEnv("E2E_RATE", 10));

    // The JVM exits with 143 on SIGTERM; systemd would count that as a failure. Turn it
    // into System.exit(0): shutdown hooks still run, and the agent's hook shuts its SDK
    // down, which flushes spans still queued.
    CountDownLatch stop = new CountDownLatch(1);
    Signal.handle(new Signal("TERM"), sig -> stop.countDown());

    Tracer tracer = GlobalOpenTelemetry.getTracer("e2e");
    long periodNanos = (long) (1e9 / rate);
    long next = System.nanoTime();
    long seq = 0;
    while ((total == 0 || seq < total) && stop.getCount() > 0) {
      seq++;
      Span span = tracer.spanBuilder("e2e-span").setAttribute("e2e.seq", seq).startSpan();
      span.end();
      // Fixed-rate schedule (not sleep(period)) so the rate does not drift with work time.
      next += periodNanos;
      long wait = next - System.nanoTime();
      if (wait > 0 && stop.await(wait, TimeUnit.NANOSECONDS)) {
        break;
      }
    }

    if (stop.getCount() > 0) {
      // The agent's SDK is not reachable through the API, so there is no forceFlush():
      // wait for the batch span processor's next scheduled export instead (its delay,
      // OTEL_BSP_SCHEDULE_DELAY, default 5000 ms, plus a margin for the export itself).
      long delay = longEnv("OTEL_BSP_SCHEDULE_DELAY", 5000);
      stop.await(delay + 1500, TimeUnit.MILLISECONDS);
      System.out.println("e2e: sent " + seq + " spans");
      System.out.flush();
      stop.await(); // stay up like a service until SIGTERM
    } else {
      // Stopped while sending (E2E_SPANS=0): the agent's shutdown hook exports the rest.
      System.out.println("e2e: sent " + seq + " spans");
      System.out.flush();
    }
    System.exit(0);
  }

  private static long longEnv(String name, long dflt) {
    String v = System.getenv(name);
    if (v == null || v.isBlank()) {
      return dflt;
    }
    return Long.parseLong(v.trim());
  }

  private Main() {}
}
