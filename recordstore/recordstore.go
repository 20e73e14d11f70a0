// Package recordstore keeps call audio (voicemails, call recordings) on disk, in a
// configured directory, with what the case record needs to trust it later: the SHA-256 of
// the bytes, their size and the audio's duration.
package recordstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"hotline/audio"
)

// Stored describes a file the store kept.
type Stored struct {
	// Path is relative to the store's directory, so the directory can move.
	Path     string
	SHA256   string
	Size     int64
	Duration time.Duration
	// Silent is true when the audio holds nothing above the silence threshold (an empty
	// voicemail still makes a case and a callback).
	Silent bool
}

// Store writes recordings under Dir/YYYY/MM/DD/.
type Store struct {
	dir string
}

// New returns a store rooted at dir, creating it when missing.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("recording store: directory not set")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("recording store %s: %w", dir, err)
	}
	return &Store{dir: dir}, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// SaveWAV checks that data is an 8 kHz 16-bit mono WAV and stores it as name.wav in the
// directory of the day at. The file is written to a temporary name and renamed, so a crash
// never leaves a half file under the final name; an existing file is never overwritten.
func (s *Store) SaveWAV(name string, at time.Time, data []byte) (Stored, error) {
	if !safeName.MatchString(name) {
		return Stored{}, fmt.Errorf("save recording %q: name must be letters, digits, '.', '_' or '-'", name)
	}
	samples, err := audio.ReadWAV(bytes.NewReader(data))
	if err != nil {
		return Stored{}, fmt.Errorf("save recording %q: %w", name, err)
	}
	rel := filepath.Join(at.Format("2006"), at.Format("01"), at.Format("02"), name+".wav")
	full := filepath.Join(s.dir, rel)
	if err := os.MkdirAll(filepath.Dir(full), 0o750); err != nil {
		return Stored{}, fmt.Errorf("save recording %q: %w", name, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(full), "."+name+".*.part")
	if err != nil {
		return Stored{}, fmt.Errorf("save recording %q: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return Stored{}, fmt.Errorf("save recording %q: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return Stored{}, fmt.Errorf("save recording %q: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return Stored{}, fmt.Errorf("save recording %q: %w", name, err)
	}
	// Link, not rename: it fails when the final name exists, so nothing is overwritten.
	if err := os.Link(tmp.Name(), full); err != nil {
		return Stored{}, fmt.Errorf("save recording %q: %w", name, err)
	}
	sum := sha256.Sum256(data)
	return Stored{
		Path:     rel,
		SHA256:   hex.EncodeToString(sum[:]),
		Size:     int64(len(data)),
		Duration: time.Duration(len(samples)) * time.Second / audio.SampleRate,
		Silent:   audio.IsSilent(samples),
	}, nil
}

// Open returns the path of a stored file, checking that it stays inside the store.
func (s *Store) Open(rel string) (*os.File, error) {
	clean := filepath.Clean(rel)
	if filepath.IsAbs(clean) || clean == ".." || len(clean) >= 3 && clean[:3] == "../" {
		return nil, fmt.Errorf("open recording %q: outside the store", rel)
	}
	return os.Open(filepath.Join(s.dir, clean))
}
