package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWAVRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		samples []int16
	}{
		{"empty", nil},
		{"one sample", []int16{-32768}},
		{"one second of 440", Tone(440, 0.5, SampleRate)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.wav")
			if err := WriteWAVFile(path, tc.samples); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(44 + 2*len(tc.samples)); fi.Size() != want {
				t.Errorf("file size %d, want %d", fi.Size(), want)
			}
			got, err := ReadWAVFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, tc.samples) {
				t.Errorf("read %d samples, not the %d written", len(got), len(tc.samples))
			}
		})
	}
}

func TestWAVHeaderFields(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteWAV(&buf, make([]int16, 10)); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	le := binary.LittleEndian
	checks := []struct {
		name      string
		got, want uint32
	}{
		{"riff size", le.Uint32(b[4:]), 36 + 20},
		{"format", uint32(le.Uint16(b[20:])), 1},
		{"channels", uint32(le.Uint16(b[22:])), 1},
		{"rate", le.Uint32(b[24:]), 8000},
		{"byte rate", le.Uint32(b[28:]), 16000},
		{"bits", uint32(le.Uint16(b[34:])), 16},
		{"data size", le.Uint32(b[40:]), 20},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestReadWAVRejects(t *testing.T) {
	stereo := wavHeader(4)
	binary.LittleEndian.PutUint16(stereo[22:], 2)
	rate := wavHeader(4)
	binary.LittleEndian.PutUint32(rate[24:], 16000)
	tests := []struct {
		name   string
		data   []byte
		format bool // want ErrWAVFormat
	}{
		{"stereo", append(stereo[:], 0, 0, 0, 0), true},
		{"16 kHz", append(rate[:], 0, 0, 0, 0), true},
		{"not riff", []byte("RIFX\x00\x00\x00\x00WAVE"), true},
		{"truncated", []byte("RIFF"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadWAV(bytes.NewReader(tc.data))
			if err == nil {
				t.Fatal("ReadWAV accepted it")
			}
			if tc.format != errors.Is(err, ErrWAVFormat) {
				t.Errorf("err = %v; ErrWAVFormat wanted: %v", err, tc.format)
			}
		})
	}
}

func TestReadWAVSkipsOtherChunks(t *testing.T) {
	var buf bytes.Buffer
	h := wavHeader(4)
	buf.Write(h[:36])
	buf.WriteString("LIST")
	binary.Write(&buf, binary.LittleEndian, uint32(3)) // odd size: padded to 4
	buf.Write([]byte{1, 2, 3, 0})
	buf.Write(h[36:])
	binary.Write(&buf, binary.LittleEndian, []int16{7, -7})
	got, err := ReadWAV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !equal(got, []int16{7, -7}) {
		t.Errorf("got %v", got)
	}
}

func TestWAVWriterStreaming(t *testing.T) {
	tone := Tone(440, 0.5, 5*FrameSamples)
	tests := []struct {
		name   string
		frames int
	}{
		{"no writes", 0},
		{"one frame", 1},
		{"five frames", 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rec.wav")
			w, err := CreateWAV(path)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < tc.frames; i++ {
				if err := w.Write(tone[i*FrameSamples : (i+1)*FrameSamples]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if err := w.Write(tone[:1]); err == nil {
				t.Error("Write after Close succeeded")
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			n := tc.frames * FrameSamples
			if len(raw) != 44+2*n || w.Bytes() != int64(len(raw)) {
				t.Fatalf("file is %d bytes (Bytes() %d), want %d", len(raw), w.Bytes(), 44+2*n)
			}
			if got := binary.LittleEndian.Uint32(raw[40:]); got != uint32(2*n) {
				t.Errorf("data size in header = %d, want %d", got, 2*n)
			}
			got, err := ReadWAV(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, tone[:n]) {
				t.Errorf("read back %d samples, not the %d written", len(got), n)
			}
		})
	}
}

// A stream cut off before Close (a crash) still reads up to EOF.
func TestReadWAVUnfinalized(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cut.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := NewWAVWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	tone := Tone(440, 0.5, 3*FrameSamples)
	if err := w.Write(tone); err != nil {
		t.Fatal(err)
	}
	if err := w.bw.Flush(); err != nil { // what reaches the disk before a crash
		t.Fatal(err)
	}
	got, err := ReadWAVFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !equal(got, tone) {
		t.Errorf("read %d samples of %d", len(got), len(tone))
	}
}

func equal(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
