package repo

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lpse/cadang/chunk"
)

// FormatVersion is the repository format this package reads and writes.
const FormatVersion = 1

// The config file is stored as
//
//	"CADANGCF" | version (1 byte) | seal(JSON of Config, ad = the first 9 bytes)
//
// The version is in the clear so that a reader can refuse an unknown
// format before it asks for a password, and it is authenticated because it
// is bound as associated data.
const configMagic = "CADANGCF"

// Compression levels a repository may be configured with.
const (
	CompressionOff     = "off"
	CompressionFastest = "fastest"
	CompressionDefault = "default"
	CompressionBetter  = "better"
)

// Config holds the parameters fixed at Init.
type Config struct {
	Version           int          `json:"version"`
	ID                string       `json:"id"`
	Created           time.Time    `json:"created"`
	ChunkerPolynomial chunk.Pol    `json:"chunker_polynomial"`
	Chunk             chunk.Params `json:"chunk"`
	PackSize          uint32       `json:"pack_size"`
	Compression       string       `json:"compression"`
}

func (c *Config) validate() error {
	if c.Version != FormatVersion {
		return fmt.Errorf("repository format version %d is not supported (this program reads version %d)", c.Version, FormatVersion)
	}
	if _, err := hex.DecodeString(c.ID); err != nil || len(c.ID) != 64 {
		return fmt.Errorf("config: invalid repository ID %q", c.ID)
	}
	if err := c.Chunk.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if !c.ChunkerPolynomial.Irreducible() {
		return fmt.Errorf("config: chunker polynomial is not irreducible")
	}
	if c.PackSize < MinPackSize || c.PackSize > MaxPackSize {
		return fmt.Errorf("config: pack size %d out of range 1 MiB..512 MiB", c.PackSize)
	}
	switch c.Compression {
	case CompressionOff, CompressionFastest, CompressionDefault, CompressionBetter:
	default:
		return fmt.Errorf("config: unknown compression %q", c.Compression)
	}
	return nil
}

func configHeader(version byte) []byte {
	return append([]byte(configMagic), version)
}

// checkConfigHeader validates the clear-text part of a stored config.
func checkConfigHeader(raw []byte) error {
	if len(raw) < len(configMagic)+1 || string(raw[:len(configMagic)]) != configMagic {
		return fmt.Errorf("config is not a cadang repository config (bad magic)")
	}
	if v := raw[len(configMagic)]; v > FormatVersion {
		return &VersionError{Version: int(v)}
	} else if v != FormatVersion {
		return fmt.Errorf("config: invalid format version %d", v)
	}
	return nil
}

// VersionError reports a repository written in a format this program does
// not know.
type VersionError struct{ Version int }

// Unwrap makes a VersionError match ErrUnsupportedVersion.
func (e *VersionError) Unwrap() error { return ErrUnsupportedVersion }

func (e *VersionError) Error() string {
	return fmt.Sprintf("repository format version %d is not supported by this cadang (which reads version %d); use a newer cadang", e.Version, FormatVersion)
}

func marshalConfig(c *Config) ([]byte, error) { return json.Marshal(c) }
