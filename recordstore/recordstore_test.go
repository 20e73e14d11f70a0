package recordstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/audio"
)

func wav(t *testing.T, samples []int16) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := audio.WriteWAV(&b, samples); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSaveWAV(t *testing.T) {
	s, err := New(filepath.Join(t.TempDir(), "rec"))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tone := wav(t, audio.Tone(440, 0.3, 3*audio.SampleRate))
	got, err := s.SaveWAV("vm-1795764449.9418", at, tone)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(tone)
	if got.Path != "2026/11/27/vm-1795764449.9418.wav" || got.Size != int64(len(tone)) || got.SHA256 != hex.EncodeToString(sum[:]) ||
		got.Duration != 3*time.Second || got.Silent {
		t.Fatalf("stored %+v", got)
	}
	f, err := s.Open(got.Path)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(back, tone) {
		t.Fatal("file differs from what was saved")
	}
	if _, err := s.SaveWAV("vm-1795764449.9418", at, tone); err == nil {
		t.Error("an existing recording was overwritten")
	}
	silent, err := s.SaveWAV("vm-empty", at, wav(t, make([]int16, audio.SampleRate/2)))
	if err != nil || !silent.Silent || silent.Duration != 500*time.Millisecond {
		t.Errorf("silent message: %+v %v", silent, err)
	}
	entries, _ := os.ReadDir(filepath.Join(s.Dir(), "2026/11/27"))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".part") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestSaveRejectsBadInput(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, rec string
		data      []byte
		want      string
	}{
		{"path in name", "../etc/passwd", wav(t, make([]int16, 160)), "name must be"},
		{"not a wav", "x", []byte("hello"), "save recording \"x\""},
		{"empty name", "", wav(t, nil), "name must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SaveWAV(tt.rec, time.Now(), tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := s.Open("../../x"); err == nil {
		t.Error("opened a file outside the store")
	}
	if _, err := New(""); err == nil {
		t.Error("a store without a directory")
	}
}
