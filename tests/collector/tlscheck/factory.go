package tlscheckreceiver

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/xreceiver"
	"go.opentelemetry.io/collector/scraper"
	"go.opentelemetry.io/collector/scraper/scraperhelper"
)

var (
	// The contrib receiver's type since its rename, and the old name it still accepts.
	componentType = component.MustNewType("tls_check")
	aliasType     = component.MustNewType("tlscheck")
)

// NewFactory is what the OCB-generated components.go calls.
func NewFactory() receiver.Factory {
	return xreceiver.NewFactory(componentType, createDefaultConfig,
		xreceiver.WithMetrics(createMetrics, component.StabilityLevelAlpha),
		xreceiver.WithDeprecatedTypeAlias(aliasType))
}

func createDefaultConfig() component.Config {
	return &Config{ControllerConfig: scraperhelper.NewDefaultControllerConfig(), Targets: []*Target{}}
}

func createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	config, ok := cfg.(*Config)
	if !ok {
		return nil, fmt.Errorf("tls_check: unexpected config type %T", cfg)
	}
	files := newFileScraper(config, set)
	metrics, err := scraper.NewMetrics(files.scrape)
	if err != nil {
		return nil, err
	}
	return scraperhelper.NewMetricsController(&config.ControllerConfig, set, next,
		scraperhelper.AddMetricsScraper(componentType, metrics))
}
