package tlscheckreceiver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

// writeCertificate writes a key block, then a certificate expiring at notAfter, then a second certificate.
func writeCertificate(t *testing.T, notAfter time.Time) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
	ca := &x509.Certificate{SerialNumber: big.NewInt(99), Subject: pkix.Name{CommonName: "otlp.tls test CA"},
		NotBefore: notAfter.Add(-72 * time.Hour), NotAfter: notAfter.Add(72 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	for i, cn := range []string{"collector1", "second"} {
		template := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 1)), Subject: pkix.Name{CommonName: cn},
			NotBefore: notAfter.Add(-48 * time.Hour),
			NotAfter:  notAfter.Add(time.Duration(i) * time.Hour), DNSNames: []string{cn},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, template, ca, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	path := filepath.Join(t.TempDir(), "fullchain.pem")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTimeLeftOfTheFirstCertificate(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	path := writeCertificate(t, now.Add(2*time.Hour))
	missing := filepath.Join(t.TempDir(), "gone.pem")
	s := &fileScraper{cfg: &Config{Targets: []*Target{{FilePath: path}, {FilePath: missing}}}, logger: zap.NewNop(),
		version: "test", now: func() time.Time { return now }}
	metrics, err := s.scrape(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if metrics.ResourceMetrics().Len() != 1 {
		t.Fatalf("want 1 resource (the missing file is left out), got %d", metrics.ResourceMetrics().Len())
	}
	resource := metrics.ResourceMetrics().At(0)
	if target, _ := resource.Resource().Attributes().Get("tlscheck.target"); target.Str() != path {
		t.Fatalf("tlscheck.target = %q", target.Str())
	}
	metric := resource.ScopeMetrics().At(0).Metrics().At(0)
	if metric.Name() != "tlscheck.time_left" || metric.Unit() != "s" {
		t.Fatalf("metric %s in %s", metric.Name(), metric.Unit())
	}
	point := metric.Gauge().DataPoints().At(0)
	if point.IntValue() != 7200 {
		t.Fatalf("time left %d, want 7200", point.IntValue())
	}
	cn, _ := point.Attributes().Get("tlscheck.x509.cn")
	issuer, _ := point.Attributes().Get("tlscheck.x509.issuer")
	san, _ := point.Attributes().Get("tlscheck.x509.san")
	if cn.Str() != "collector1" || !strings.Contains(issuer.Str(), "otlp.tls test CA") {
		t.Fatalf("cn %q issuer %q", cn.Str(), issuer.Str())
	}
	if got := san.AsString(); got != `["127.0.0.1","collector1"]` {
		t.Fatalf("san %s", got)
	}
}

func TestAnExpiredCertificateIsNegative(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s := &fileScraper{cfg: &Config{Targets: []*Target{{FilePath: writeCertificate(t, now.Add(-90*time.Second))}}},
		logger: zap.NewNop(), now: func() time.Time { return now }}
	metrics, _ := s.scrape(context.Background())
	value := metrics.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints().At(0).IntValue()
	if value != -90 {
		t.Fatalf("time left %d, want -90", value)
	}
}

func TestTargetsAreChecked(t *testing.T) {
	path := writeCertificate(t, time.Now().Add(time.Hour))
	for _, c := range []struct {
		target Target
		want   string
	}{
		{Target{Endpoint: "localhost:4317"}, "otelcol-contrib"},
		{Target{Endpoint: "localhost:4317", FilePath: path}, "both"},
		{Target{}, "either"},
		{Target{FilePath: "relative.pem"}, "absolute"},
		{Target{FilePath: filepath.Join(t.TempDir(), "none.pem")}, "does not exist"},
		{Target{FilePath: t.TempDir()}, "not a regular file"},
	} {
		err := c.target.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.target, err, c.want)
		}
	}
	if err := (&Target{FilePath: path}).Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (&Config{}).Validate(); err == nil {
		t.Fatal("an empty target list passed")
	}
}
