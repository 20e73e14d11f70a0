package prompts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ManifestName is the file in the output directory that records what was generated.
const ManifestName = "prompts-manifest.json"

// manifest records, per generated file (path relative to the output directory), a hash of
// what it was made from and a hash of its bytes. The second tells our files from files put
// there by people (production recordings), which are never overwritten.
type manifest struct {
	Files map[string]manifestEntry `json:"files"`
}

type manifestEntry struct {
	Input  string `json:"input"`  // sha256 of generator version, voice and spoken text
	Output string `json:"output"` // sha256 of the file
	Spoken string `json:"spoken,omitempty"`
}

func readManifest(dir string) (manifest, error) {
	m := manifest{Files: map[string]manifestEntry{}}
	p := filepath.Join(dir, ManifestName)
	src, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("read prompt manifest: %w", err)
	}
	if err := json.Unmarshal(src, &m); err != nil {
		return m, fmt.Errorf("prompt manifest %s: %w (delete it to regenerate every prompt)", p, err)
	}
	if m.Files == nil {
		m.Files = map[string]manifestEntry{}
	}
	return m, nil
}

func (m manifest) write(dir string) error {
	src, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode prompt manifest: %w", err)
	}
	return writeAtomic(filepath.Join(dir, ManifestName), append(src, '\n'))
}

// writeAtomic replaces path so that a reader sees the old or the new file, never half.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func hashStrings(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashFile returns the sha256 of the file at path; ok is false when there is no file.
func hashFile(path string) (sum string, ok bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("hash %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", false, fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), true, nil
}
