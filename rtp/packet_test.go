package rtp

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func TestPacketRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		p    Packet
		size int
	}{
		{"plain", Packet{Header: Header{PayloadType: 0, SequenceNumber: 1, Timestamp: 160, SSRC: 0xdeadbeef}, Payload: make([]byte, 160)}, 172},
		{"marker and max fields", Packet{Header: Header{Marker: true, PayloadType: 127, SequenceNumber: 0xffff, Timestamp: 0xffffffff, SSRC: 1}, Payload: []byte{1, 2, 3}}, 15},
		{"csrcs", Packet{Header: Header{PayloadType: 8, CSRC: []uint32{1, 2, 3}}, Payload: []byte{9}}, 25},
		{"extension", Packet{Header: Header{PayloadType: 0, Extension: true, ExtensionProfile: 0xbede, ExtensionPayload: []byte{1, 2, 3, 4, 5, 6, 7, 8}}, Payload: []byte{9, 9}}, 26},
		{"empty extension", Packet{Header: Header{Extension: true, ExtensionProfile: 1}}, 16},
		{"padding", Packet{Header: Header{PayloadType: 0}, Payload: []byte{1, 2, 3}, PaddingSize: 5}, 20},
		{"everything", Packet{Header: Header{Marker: true, PayloadType: 0, CSRC: []uint32{7}, Extension: true, ExtensionProfile: 2, ExtensionPayload: []byte{1, 2, 3, 4}}, Payload: []byte{5}, PaddingSize: 3}, 28},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != tc.size || tc.p.MarshalSize() != tc.size {
				t.Fatalf("marshalled %d bytes (MarshalSize %d), want %d", len(b), tc.p.MarshalSize(), tc.size)
			}
			var got Packet
			if err := got.Unmarshal(b); err != nil {
				t.Fatal(err)
			}
			want := tc.p
			want.Padding = tc.p.PaddingSize > 0
			if got.Marker != want.Marker || got.PayloadType != want.PayloadType ||
				got.SequenceNumber != want.SequenceNumber || got.Timestamp != want.Timestamp ||
				got.SSRC != want.SSRC || got.Padding != want.Padding || got.PaddingSize != want.PaddingSize ||
				got.Extension != want.Extension || got.ExtensionProfile != want.ExtensionProfile {
				t.Errorf("header: got %+v, want %+v", got.Header, want.Header)
			}
			if !slices.Equal(got.CSRC, want.CSRC) {
				t.Errorf("CSRC = %v, want %v", got.CSRC, want.CSRC)
			}
			if !bytes.Equal(got.ExtensionPayload, want.ExtensionPayload) {
				t.Errorf("extension = %v, want %v", got.ExtensionPayload, want.ExtensionPayload)
			}
			if !bytes.Equal(got.Payload, want.Payload) {
				t.Errorf("payload = %v, want %v", got.Payload, want.Payload)
			}
		})
	}
}

// A packet laid out by hand, as RFC 3550 §5.1 draws it.
func TestUnmarshalKnownBytes(t *testing.T) {
	b := []byte{
		0xb1, 0x80, 0x12, 0x34, // V=2 P=1 X=1 CC=1, M=1 PT=0, seq 0x1234
		0x00, 0x00, 0x01, 0x40, // timestamp 320
		0xca, 0xfe, 0xba, 0xbe, // SSRC
		0x00, 0x00, 0x00, 0x2a, // CSRC 42
		0xbe, 0xde, 0x00, 0x01, // extension profile, 1 word
		0x10, 0x20, 0x30, 0x40, // extension word
		0xff, 0x7f, // payload
		0x00, 0x02, // padding: 2 bytes
	}
	var p Packet
	if err := p.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if !p.Marker || p.PayloadType != 0 || p.SequenceNumber != 0x1234 || p.Timestamp != 320 ||
		p.SSRC != 0xcafebabe || !slices.Equal(p.CSRC, []uint32{42}) || p.ExtensionProfile != 0xbede ||
		!bytes.Equal(p.ExtensionPayload, []byte{0x10, 0x20, 0x30, 0x40}) ||
		!bytes.Equal(p.Payload, []byte{0xff, 0x7f}) || p.PaddingSize != 2 {
		t.Errorf("parsed %+v payload %v", p.Header, p.Payload)
	}
	out, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, b) {
		t.Errorf("re-marshalled\n%x\nwant\n%x", out, b)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	valid := []byte{0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShortPacket},
		{"11 bytes", valid[:11], ErrShortPacket},
		{"version 1", append([]byte{0x40}, valid[1:]...), ErrVersion},
		{"csrc count past end", append([]byte{0x82}, valid[1:]...), ErrShortPacket},
		{"extension header missing", append([]byte{0x90}, valid[1:]...), ErrShortPacket},
		{"extension words past end", append(append([]byte{0x90}, valid[1:]...), 0, 0, 0, 2, 1, 2, 3, 4), ErrShortPacket},
		{"padding zero", append(append([]byte{0xa0}, valid[1:]...), 1, 0), ErrShortPacket},
		{"padding past header", append(append([]byte{0xa0}, valid[1:]...), 1, 9), ErrShortPacket},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Packet
			if err := p.Unmarshal(tc.b); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	tests := []struct {
		name string
		p    Packet
		buf  int
	}{
		{"16 csrcs", Packet{Header: Header{CSRC: make([]uint32, 16)}}, 200},
		{"extension not whole words", Packet{Header: Header{Extension: true, ExtensionPayload: []byte{1}}}, 200},
		{"payload type 128", Packet{Header: Header{PayloadType: 128}}, 200},
		{"buffer too small", Packet{Payload: make([]byte, 10)}, 21},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.p.MarshalTo(make([]byte, tc.buf)); err == nil {
				t.Error("MarshalTo succeeded")
			}
		})
	}
}

func TestStreamNumbering(t *testing.T) {
	s := NewStream()
	s.seq = 0xfffe // exercise the wrap
	ts0 := s.ts
	for i := 0; i < 4; i++ {
		h := s.Next(160)
		if want := uint16(0xfffe + i); h.SequenceNumber != want {
			t.Errorf("packet %d seq = %d, want %d", i, h.SequenceNumber, want)
		}
		if want := ts0 + uint32(160*i); h.Timestamp != want {
			t.Errorf("packet %d ts = %d, want %d", i, h.Timestamp, want)
		}
		if h.Marker != (i == 0) {
			t.Errorf("packet %d marker = %v", i, h.Marker)
		}
		if h.SSRC != s.SSRC() || h.PayloadType != PayloadTypePCMU {
			t.Errorf("packet %d ssrc %x pt %d", i, h.SSRC, h.PayloadType)
		}
	}
	buf := s.AppendPCMU(nil, make([]int16, 160))
	var p Packet
	if err := p.Unmarshal(buf); err != nil {
		t.Fatal(err)
	}
	if len(p.Payload) != 160 || p.Payload[0] != 0xff || p.SequenceNumber != 2 {
		t.Errorf("AppendPCMU gave seq %d payload of %d bytes starting %#x", p.SequenceNumber, len(p.Payload), p.Payload[0])
	}
	if a := testing.AllocsPerRun(100, func() { buf = s.AppendPCMU(buf[:0], make([]int16, 160)) }); a > 0 {
		t.Errorf("AppendPCMU allocates %.0f times per packet", a)
	}
}
