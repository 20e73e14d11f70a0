package rtp

import (
	"math/rand/v2"

	"hotline/audio"
)

// Stream numbers the packets of one outgoing RTP stream: one SSRC, a
// sequence number and a timestamp that start at random values (RFC 3550
// §5.1, to make known-plaintext attacks and collisions harder) and advance
// by one and by the samples per packet.
type Stream struct {
	ssrc        uint32
	payloadType uint8
	seq         uint16
	ts          uint32
	started     bool
}

// NewStream returns a PCMU stream with a random SSRC, sequence and timestamp.
func NewStream() *Stream {
	return &Stream{
		ssrc:        rand.Uint32(),
		payloadType: PayloadTypePCMU,
		seq:         uint16(rand.Uint32()),
		ts:          rand.Uint32(),
	}
}

// SSRC returns the stream's synchronization source.
func (s *Stream) SSRC() uint32 { return s.ssrc }

// Next returns the header for the next packet carrying samples samples. The
// first packet has the marker bit set (start of a talkspurt, RFC 3551 §4.1).
func (s *Stream) Next(samples int) Header {
	h := Header{
		Marker:         !s.started,
		PayloadType:    s.payloadType,
		SequenceNumber: s.seq,
		Timestamp:      s.ts,
		SSRC:           s.ssrc,
	}
	s.started = true
	s.seq++
	s.ts += uint32(samples)
	return h
}

// AppendPCMU appends one PCMU RTP packet carrying frame to buf: the next
// header of s and the µ-law encoding of frame. It does not allocate when buf
// has room for HeaderSize+len(frame) bytes.
func (s *Stream) AppendPCMU(buf []byte, frame []int16) []byte {
	p := Packet{Header: s.Next(len(frame))}
	var hdr [HeaderSize]byte
	// A header with no CSRC, extension or padding always fits.
	_, _ = p.MarshalTo(hdr[:])
	buf = append(buf, hdr[:]...)
	return audio.EncodePCMU(buf, frame)
}
