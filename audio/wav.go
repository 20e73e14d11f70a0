package audio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// wavHeaderSize is the size of the canonical RIFF/WAVE header we write:
// RIFF chunk header, a 16-byte "fmt " chunk and the "data" chunk header.
const wavHeaderSize = 44

// ErrWAVFormat reports a WAV file that is not 8 kHz 16-bit mono PCM.
var ErrWAVFormat = errors.New("audio: not an 8 kHz 16-bit mono PCM WAV")

func wavHeader(dataBytes uint32) [wavHeaderSize]byte {
	var h [wavHeaderSize]byte
	le := binary.LittleEndian
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], 36+dataBytes)
	copy(h[8:], "WAVE")
	copy(h[12:], "fmt ")
	le.PutUint32(h[16:], 16)           // fmt chunk size
	le.PutUint16(h[20:], 1)            // PCM
	le.PutUint16(h[22:], 1)            // mono
	le.PutUint32(h[24:], SampleRate)   // sample rate
	le.PutUint32(h[28:], SampleRate*2) // byte rate
	le.PutUint16(h[32:], 2)            // block align
	le.PutUint16(h[34:], 16)           // bits per sample
	copy(h[36:], "data")
	le.PutUint32(h[40:], dataBytes)
	return h
}

// WriteWAV writes samples as a complete 8 kHz 16-bit mono WAV to w.
func WriteWAV(w io.Writer, samples []int16) error {
	h := wavHeader(uint32(len(samples) * 2))
	if _, err := w.Write(h[:]); err != nil {
		return fmt.Errorf("audio: write wav header: %w", err)
	}
	if err := binary.Write(w, binary.LittleEndian, samples); err != nil {
		return fmt.Errorf("audio: write wav data: %w", err)
	}
	return nil
}

// WriteWAVFile writes samples as a WAV file at path (created or truncated).
func WriteWAVFile(path string, samples []int16) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("audio: create wav: %w", err)
	}
	bw := bufio.NewWriter(f)
	if err := WriteWAV(bw, samples); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("audio: write wav %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("audio: close wav %s: %w", path, err)
	}
	return nil
}

// ReadWAV reads an 8 kHz 16-bit mono PCM WAV. Chunks other than "fmt " and
// "data" are skipped. A data chunk whose declared size runs past the end of
// the input, or that is 0 or 0xFFFFFFFF (a stream that was never finalized),
// is read up to EOF.
func ReadWAV(r io.Reader) ([]int16, error) {
	br := bufio.NewReader(r)
	var riff [12]byte
	if _, err := io.ReadFull(br, riff[:]); err != nil {
		return nil, fmt.Errorf("audio: read riff header: %w", err)
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return nil, fmt.Errorf("audio: not a RIFF/WAVE file: %w", ErrWAVFormat)
	}
	sawFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(br, ch[:]); err != nil {
			return nil, fmt.Errorf("audio: no data chunk: %w", err)
		}
		size := binary.LittleEndian.Uint32(ch[4:])
		switch string(ch[0:4]) {
		case "fmt ":
			if size < 16 {
				return nil, fmt.Errorf("audio: fmt chunk of %d bytes: %w", size, ErrWAVFormat)
			}
			body := make([]byte, size+size%2)
			if _, err := io.ReadFull(br, body); err != nil {
				return nil, fmt.Errorf("audio: read fmt chunk: %w", err)
			}
			le := binary.LittleEndian
			format, channels := le.Uint16(body[0:]), le.Uint16(body[2:])
			rate, bits := le.Uint32(body[4:]), le.Uint16(body[14:])
			if format != 1 || channels != 1 || rate != SampleRate || bits != 16 {
				return nil, fmt.Errorf("audio: format %d, %d channels, %d Hz, %d bits: %w",
					format, channels, rate, bits, ErrWAVFormat)
			}
			sawFmt = true
		case "data":
			if !sawFmt {
				return nil, fmt.Errorf("audio: data before fmt chunk: %w", ErrWAVFormat)
			}
			var src io.Reader = io.LimitReader(br, int64(size))
			if size == 0 || size == 0xFFFFFFFF {
				// A stream that was never finalized: its data runs to EOF.
				src = br
			}
			data, err := io.ReadAll(src)
			if err != nil {
				return nil, fmt.Errorf("audio: read data chunk: %w", err)
			}
			samples := make([]int16, len(data)/2)
			for i := range samples {
				samples[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
			}
			return samples, nil
		default:
			if _, err := br.Discard(int(size + size%2)); err != nil {
				return nil, fmt.Errorf("audio: skip %q chunk: %w", ch[0:4], err)
			}
		}
	}
}

// ReadWAVFile reads the WAV file at path; see ReadWAV.
func ReadWAVFile(path string) ([]int16, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audio: open wav: %w", err)
	}
	defer f.Close()
	s, err := ReadWAV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// WAVWriter streams samples into a WAV file whose header is completed by
// Close. The header is written first with sizes for the data written so far,
// so a file cut off before Close is still readable by ReadWAV, and Close
// after any number of writes (including none) leaves a valid WAV: that is how
// a recording cut short by a hang-up is kept.
type WAVWriter struct {
	ws     io.WriteSeeker
	closer io.Closer // nil when the caller owns ws
	bw     *bufio.Writer
	data   int64 // bytes of sample data written
	buf    []byte
	closed bool
}

// NewWAVWriter starts a WAV stream on ws, which must be positioned at the
// start of the file. Close finalizes the header; it does not close ws.
func NewWAVWriter(ws io.WriteSeeker) (*WAVWriter, error) {
	w := &WAVWriter{ws: ws, bw: bufio.NewWriterSize(ws, 4096)}
	h := wavHeader(0)
	if _, err := w.bw.Write(h[:]); err != nil {
		return nil, fmt.Errorf("audio: write wav header: %w", err)
	}
	return w, nil
}

// CreateWAV creates (or truncates) the file at path and starts a WAV stream
// in it. Close finalizes the header and closes the file.
func CreateWAV(path string) (*WAVWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("audio: create wav: %w", err)
	}
	w, err := NewWAVWriter(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.closer = f
	return w, nil
}

// Write appends samples to the stream.
func (w *WAVWriter) Write(samples []int16) error {
	if w.closed {
		return errors.New("audio: write to closed WAVWriter")
	}
	w.buf = w.buf[:0]
	for _, s := range samples {
		w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(s))
	}
	n, err := w.bw.Write(w.buf)
	w.data += int64(n)
	if err != nil {
		return fmt.Errorf("audio: write wav data: %w", err)
	}
	return nil
}

// Samples returns how many samples have been written.
func (w *WAVWriter) Samples() int64 { return w.data / 2 }

// Bytes returns the size of the file once finalized (header plus data).
func (w *WAVWriter) Bytes() int64 { return wavHeaderSize + w.data }

// Close flushes the data, writes the final sizes into the header and, for a
// writer from CreateWAV, closes the file. Calling Close again does nothing.
func (w *WAVWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.finalize()
	if w.closer != nil {
		if cerr := w.closer.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("audio: close wav: %w", cerr)
		}
	}
	return err
}

func (w *WAVWriter) finalize() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("audio: flush wav data: %w", err)
	}
	if _, err := w.ws.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("audio: seek wav header: %w", err)
	}
	h := wavHeader(uint32(w.data))
	if _, err := w.ws.Write(h[:]); err != nil {
		return fmt.Errorf("audio: rewrite wav header: %w", err)
	}
	if _, err := w.ws.Seek(0, io.SeekEnd); err != nil {
		return fmt.Errorf("audio: seek wav end: %w", err)
	}
	return nil
}
