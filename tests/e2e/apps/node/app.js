'use strict';
// E2E test app: emits E2E_SPANS spans named "e2e-span" (attribute e2e.seq = 1..N) at
// E2E_RATE per second, then stays up until SIGTERM.
//
// There is no exporter code here on purpose: NodeSDK builds the exporter from the
// OTEL_* environment alone (OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_PROTOCOL picks the
// grpc or http/protobuf exporter, which read endpoint, TLS files, timeout and
// compression themselves). That is what the test proves: the exporter role's
// environment is enough.
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { trace } = require('@opentelemetry/api');

const intEnv = (name, dflt) => {
  const v = (process.env[name] || '').trim();
  return v === '' ? dflt : parseInt(v, 10);
};
const total = intEnv('E2E_SPANS', 20); // 0 = forever
const rate = Math.max(0.001, intEnv('E2E_RATE', 10));

const sdk = new NodeSDK();
sdk.start();
const tracer = trace.getTracer('e2e');

let stopping = false;
let keepAlive;
let seq = 0;
let reported = false;
// systemd stops the service with SIGTERM: export what is still queued, then exit 0
// (Node's default would be to die at once and lose the batch).
process.once('SIGTERM', () => {
  stopping = true;
  clearInterval(keepAlive);
  // Stopped while sending (E2E_SPANS=0): say how many; shutdown exports the rest.
  if (!reported) console.log(`e2e: sent ${seq} spans`);
  sdk.shutdown().then(() => process.exit(0), (err) => {
    console.error('e2e: shutdown failed:', err);
    process.exit(0);
  });
});

(async () => {
  const period = 1000 / rate;
  let next = Date.now();
  while (!stopping && (total === 0 || seq < total)) {
    seq++;
    tracer.startSpan('e2e-span', { attributes: { 'e2e.seq': seq } }).end();
    // Fixed-rate schedule so the rate does not drift with the work per span.
    next += period;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  if (stopping) return;
  // The global provider is a proxy around the SDK's; flush through the real one so the
  // line below comes after the export attempt. A failed export (e.g. the collector
  // refuses us without a client certificate) rejects here: report it and stay up, the
  // way a real service would, so the test sees "nothing arrived", not a crash.
  try {
    await trace.getTracerProvider().getDelegate().forceFlush();
  } catch (err) {
    console.error('e2e: export failed:', err);
  }
  if (stopping) return;
  reported = true;
  console.log(`e2e: sent ${seq} spans`);
  // Nothing else keeps the event loop alive: stay up like a service until SIGTERM.
  keepAlive = setInterval(() => {}, 1 << 30);
})().catch((err) => {
  console.error('e2e:', err);
  process.exit(1);
});
