// Command e2e-go is a minimal instrumented service for the end-to-end tests: it
// emits a known number of spans through the real OpenTelemetry Go SDK and then
// keeps running like a daemon, so the tests can check both what arrived at the
// collector and that the systemd unit stays up.
//
// The exporter is configured ONLY by the standard OTEL_* environment variables
// (endpoint, protocol, CA, client certificate/key, timeout, compression, ...):
// that is exactly what the exporter role writes, and the point of the test is
// that an unmodified SDK picks it up. Hence no TLS or endpoint code here.
//
// E2E_SPANS (default 20, 0 = forever) and E2E_RATE (spans per second, default
// 10) shape the traffic; every span is "e2e-span" with e2e.seq = 1, 2, 3, ...
// so the tests can spot gaps and duplicates.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// envInt reads a non-negative integer; a typo must fail loudly rather than
// silently run with a default the test did not ask for.
func envInt(name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		log.Fatalf("e2e: %s=%q is not a non-negative integer", name, v)
	}
	return n
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	total := envInt("E2E_SPANS", 20)
	rate := envInt("E2E_RATE", 10)
	if rate == 0 {
		log.Fatal("e2e: E2E_RATE must be > 0")
	}

	// Catch the signals before sending anything: systemd may stop us at any
	// moment, and we must still flush what was buffered.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// autoexport honours OTEL_TRACES_EXPORTER (default otlp) and
	// OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL (grpc | http/protobuf, default
	// http/protobuf); the chosen OTLP exporter then reads the rest of OTEL_*.
	exp, err := autoexport.NewSpanExporter(context.Background())
	if err != nil {
		log.Fatalf("e2e: span exporter from environment: %v", err)
	}
	// The default resource already merges OTEL_SERVICE_NAME and
	// OTEL_RESOURCE_ATTRIBUTES; the batcher reads OTEL_BSP_*.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	otel.SetTracerProvider(tp)
	// Export failures go to the global error handler, which logs to stderr
	// (journald); they must not stop the service.

	tracer := tp.Tracer("otlp-tls-e2e")
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()

	sent := 0
send:
	for total == 0 || sent < total {
		select {
		case <-ctx.Done():
			break send
		case <-tick.C:
		}
		sent++
		// A fresh root span per tick: one span per trace keeps the check simple.
		_, span := tracer.Start(context.Background(), "e2e-span",
			trace.WithAttributes(attribute.Int("e2e.seq", sent)))
		span.End()
	}

	if ctx.Err() == nil {
		// Bounded by OTEL_EXPORTER_OTLP_TIMEOUT inside the exporter; the outer
		// limit only guards against a hung flush.
		fctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := tp.ForceFlush(fctx); err != nil {
			log.Printf("e2e: flush: %v", err)
		}
		cancel()
		// "sent" = handed to the SDK; whether it arrived is for the collector
		// side of the test to say.
		fmt.Printf("e2e: sent %d spans\n", sent)
		// Stay up like a real service until systemd stops us.
		<-ctx.Done()
	} else {
		fmt.Printf("e2e: sent %d spans\n", sent)
	}

	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Shutdown flushes whatever the batcher still holds (the E2E_SPANS=0 case).
	if err := tp.Shutdown(sctx); err != nil {
		log.Printf("e2e: shutdown: %v", err)
	}
}
