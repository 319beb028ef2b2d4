// Package tlscheckreceiver is the otlp.tls test distribution's stand-in for the contrib
// tlscheckreceiver, which the Go module proxy of the test machines does not serve. It takes
// the same configuration for local files (targets[].file_path, the scraper controller's
// collection_interval) and emits the same metric, tlscheck.time_left, with the same
// attributes. Endpoint targets, JKS and PKCS#12 files are not supported: a config that uses
// them is refused with a message naming the fix (a distribution with the contrib receiver).
package tlscheckreceiver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.opentelemetry.io/collector/scraper/scraperhelper"
)

// Target is one certificate file. Endpoint is declared only to refuse it by name.
type Target struct {
	Endpoint string `mapstructure:"endpoint"`
	FilePath string `mapstructure:"file_path"`
}

// Config is the receiver's configuration.
type Config struct {
	scraperhelper.ControllerConfig `mapstructure:",squash"`
	Targets                        []*Target `mapstructure:"targets"`
}

// Validate checks the list; each Target and the controller settings validate themselves.
func (cfg *Config) Validate() error {
	if len(cfg.Targets) == 0 {
		return errors.New("no targets specified")
	}
	for i, target := range cfg.Targets {
		if target == nil {
			return fmt.Errorf("targets::%d: empty target", i)
		}
	}
	return nil
}

// Validate refuses what the receiver can not read, as the contrib receiver does for files.
func (t *Target) Validate() error {
	switch {
	case t.Endpoint != "" && t.FilePath != "":
		return errors.New("cannot specify both endpoint and file_path")
	case t.Endpoint != "":
		return errors.New("endpoint targets are not supported by this test build's tls_check stand-in " +
			"(file_path only): use otelcol-contrib, whose tlscheckreceiver has them")
	case t.FilePath == "":
		return errors.New("must specify either endpoint or file_path")
	}
	if !filepath.IsAbs(t.FilePath) {
		return fmt.Errorf("file path must be absolute: %s", t.FilePath)
	}
	info, err := os.Stat(t.FilePath)
	switch {
	case os.IsNotExist(err):
		return fmt.Errorf("certificate file does not exist: %s", t.FilePath)
	case err != nil:
		return fmt.Errorf("cannot access certificate file %s: %w", t.FilePath, err)
	case !info.Mode().IsRegular():
		return fmt.Errorf("certificate path is not a regular file: %s", t.FilePath)
	}
	handle, err := os.Open(t.FilePath)
	if err != nil {
		return fmt.Errorf("certificate file is not readable: %s", t.FilePath)
	}
	return handle.Close()
}
