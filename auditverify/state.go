package auditverify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// State remembers, per log origin, the last checkpoint an auditor
// verified, so that the next run can check the log only grew.
type State map[string]string // origin → signed checkpoint note

// LoadState reads the state file at path. A missing file is an empty State.
func LoadState(path string) (State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't read audit state: %w", err)
	}
	s := State{}
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("couldn't read audit state %s: %w", path, err)
	}
	return s, nil
}

// SaveState writes s to path atomically, creating the directory.
func SaveState(path string, s State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("couldn't write audit state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("couldn't write audit state: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("couldn't write audit state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("couldn't write audit state: %w", err)
	}
	return nil
}

// DefaultStatePath is where the CLI keeps its State unless told otherwise:
// brightline/audit-state under the user's configuration directory.
func DefaultStatePath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("couldn't find a place for the audit state (use -state): %w", err)
	}
	return filepath.Join(dir, "brightline", "audit-state"), nil
}
