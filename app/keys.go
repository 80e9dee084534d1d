package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// decodeKey reads SIYU_SECRET_KEY: 64 hex characters or base64 of at least
// 32 bytes. The result is always 32 bytes (longer keys are hashed down).
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	var raw []byte
	if b, err := hex.DecodeString(s); err == nil {
		raw = b
	} else if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		raw = b
	} else if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		raw = b
	} else {
		return nil, errors.New("must be hex or base64")
	}
	if len(raw) < 32 {
		return nil, fmt.Errorf("must hold at least 32 bytes, has %d", len(raw))
	}
	if len(raw) == 32 {
		return raw, nil
	}
	sum := sha256.Sum256(raw)
	return sum[:], nil
}

// secretKey returns the key that encrypts secrets at rest. In dev without
// SIYU_SECRET_KEY it is a random key kept in the data folder, so restarts
// can still read what was stored.
func secretKey(cfg Config) ([]byte, error) {
	if cfg.SecretKey != "" {
		return decodeKey(cfg.SecretKey)
	}
	path := filepath.Join(cfg.DataDir, "dev-secret.key")
	if b, err := os.ReadFile(path); err == nil {
		k, err := decodeKey(string(b))
		if err != nil {
			return nil, &ConfigError{"SIYU_SECRET_KEY", "unset, and " + path + " is not a key: " + err.Error()}
		}
		return k, nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, &ConfigError{"SIYU_DATA_DIR", err.Error()}
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(k)), 0o600); err != nil {
		return nil, &ConfigError{"SIYU_DATA_DIR", err.Error()}
	}
	return k, nil
}
