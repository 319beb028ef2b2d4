package tlscheckreceiver

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.uber.org/zap"
)

const (
	// The contrib receiver's scope name, so that backends see the same scope either way.
	scopeName  = "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/tlscheckreceiver"
	metricName = "tlscheck.time_left"
	metricHelp = "Time in seconds until certificate expiry, as specified by `NotAfter` field in the x.509 " +
		"certificate. Negative values represent time in seconds since expiration."
)

type fileScraper struct {
	cfg     *Config
	logger  *zap.Logger
	version string
	now     func() time.Time
}

func newFileScraper(cfg *Config, set receiver.Settings) *fileScraper {
	return &fileScraper{cfg: cfg, logger: set.Logger, version: set.BuildInfo.Version, now: time.Now}
}

// scrape reads every target; one it can not read is logged and left out, the others still report.
func (s *fileScraper) scrape(context.Context) (pmetric.Metrics, error) {
	metrics := pmetric.NewMetrics()
	for _, target := range s.cfg.Targets {
		cert, err := leafCertificate(target.FilePath)
		if err != nil {
			s.logger.Error("cannot read the certificate", zap.String("file_path", target.FilePath), zap.Error(err))
			continue
		}
		s.add(metrics, target.FilePath, cert)
	}
	return metrics, nil
}

// leafCertificate is the first CERTIFICATE block of a PEM file (other blocks, a key say, are skipped).
func leafCertificate(path string) (*x509.Certificate, error) {
	rest, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no certificate in the file")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

func (s *fileScraper) add(metrics pmetric.Metrics, target string, cert *x509.Certificate) {
	now := s.now()
	stamp := pcommon.NewTimestampFromTime(now)
	resource := metrics.ResourceMetrics().AppendEmpty()
	resource.Resource().Attributes().PutStr("tlscheck.target", target)
	scope := resource.ScopeMetrics().AppendEmpty()
	scope.Scope().SetName(scopeName)
	scope.Scope().SetVersion(s.version)
	metric := scope.Metrics().AppendEmpty()
	metric.SetName(metricName)
	metric.SetDescription(metricHelp)
	metric.SetUnit("s")
	point := metric.SetEmptyGauge().DataPoints().AppendEmpty()
	point.SetStartTimestamp(stamp)
	point.SetTimestamp(stamp)
	point.SetIntValue(int64(cert.NotAfter.Sub(now).Seconds()))
	attributes := point.Attributes()
	attributes.PutStr("tlscheck.x509.issuer", cert.Issuer.String())
	attributes.PutStr("tlscheck.x509.cn", cert.Subject.CommonName)
	names := attributes.PutEmptySlice("tlscheck.x509.san")
	for _, ip := range cert.IPAddresses {
		names.AppendEmpty().SetStr(ip.String())
	}
	for _, uri := range cert.URIs {
		names.AppendEmpty().SetStr(uri.String())
	}
	for _, name := range cert.DNSNames {
		names.AppendEmpty().SetStr(name)
	}
	for _, email := range cert.EmailAddresses {
		names.AppendEmpty().SetStr(email)
	}
}
