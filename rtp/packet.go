// Package rtp is a minimal RTP (RFC 3550) implementation for G.711 µ-law
// audio: packet marshalling, and a 20 ms paced PCMU sender and a receiver
// over a *net.UDPConn.
package rtp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	// Version is the RTP version carried in every packet (RFC 3550 §5.1).
	Version = 2
	// HeaderSize is the size of the fixed header, without CSRCs or extension.
	HeaderSize = 12
	// PayloadTypePCMU is the static payload type of G.711 µ-law (RFC 3551).
	PayloadTypePCMU = 0
)

// ErrShortPacket reports a buffer too short for what its header declares.
var ErrShortPacket = errors.New("rtp: packet too short")

// ErrVersion reports a packet whose version is not 2.
var ErrVersion = errors.New("rtp: unsupported version")

// Header is the RTP header (RFC 3550 §5.1) with its optional parts.
type Header struct {
	Padding        bool // set by Marshal when Packet.PaddingSize > 0
	Marker         bool
	PayloadType    uint8
	SequenceNumber uint16
	Timestamp      uint32
	SSRC           uint32
	CSRC           []uint32
	// Extension is set when the packet carries a header extension
	// (RFC 3550 §5.3.1): a 16-bit profile value and whole 32-bit words.
	Extension        bool
	ExtensionProfile uint16
	ExtensionPayload []byte // length must be a multiple of 4
}

// Packet is an RTP packet. After Unmarshal, Payload, ExtensionPayload and
// the CSRC list alias or copy out of the input buffer as documented there.
type Packet struct {
	Header
	Payload     []byte
	PaddingSize uint8 // bytes of padding after the payload, including the count byte
}

// Unmarshal parses buf into p. Payload and ExtensionPayload alias buf (no
// copy, so a receive loop can reuse its buffer); CSRC reuses p's slice.
func (p *Packet) Unmarshal(buf []byte) error {
	if len(buf) < HeaderSize {
		return fmt.Errorf("%w: %d bytes", ErrShortPacket, len(buf))
	}
	if v := buf[0] >> 6; v != Version {
		return fmt.Errorf("%w: %d", ErrVersion, v)
	}
	p.Padding = buf[0]&0x20 != 0
	p.Extension = buf[0]&0x10 != 0
	cc := int(buf[0] & 0x0f)
	p.Marker = buf[1]&0x80 != 0
	p.PayloadType = buf[1] & 0x7f
	p.SequenceNumber = binary.BigEndian.Uint16(buf[2:])
	p.Timestamp = binary.BigEndian.Uint32(buf[4:])
	p.SSRC = binary.BigEndian.Uint32(buf[8:])

	off := HeaderSize
	if len(buf) < off+4*cc {
		return fmt.Errorf("%w: %d CSRCs in %d bytes", ErrShortPacket, cc, len(buf))
	}
	p.CSRC = p.CSRC[:0]
	for i := 0; i < cc; i++ {
		p.CSRC = append(p.CSRC, binary.BigEndian.Uint32(buf[off:]))
		off += 4
	}

	p.ExtensionProfile, p.ExtensionPayload = 0, nil
	if p.Extension {
		if len(buf) < off+4 {
			return fmt.Errorf("%w: extension header", ErrShortPacket)
		}
		p.ExtensionProfile = binary.BigEndian.Uint16(buf[off:])
		words := int(binary.BigEndian.Uint16(buf[off+2:]))
		off += 4
		if len(buf) < off+4*words {
			return fmt.Errorf("%w: extension of %d words", ErrShortPacket, words)
		}
		p.ExtensionPayload = buf[off : off+4*words]
		off += 4 * words
	}

	end := len(buf)
	p.PaddingSize = 0
	if p.Padding {
		pad := int(buf[end-1])
		if pad == 0 || end-pad < off {
			return fmt.Errorf("%w: padding of %d bytes", ErrShortPacket, pad)
		}
		p.PaddingSize = uint8(pad)
		end -= pad
	}
	p.Payload = buf[off:end]
	return nil
}

// MarshalSize returns the number of bytes Marshal produces.
func (p *Packet) MarshalSize() int {
	n := HeaderSize + 4*len(p.CSRC) + len(p.Payload) + int(p.PaddingSize)
	if p.Extension {
		n += 4 + len(p.ExtensionPayload)
	}
	return n
}

// MarshalTo writes p into buf and returns the number of bytes written.
func (p *Packet) MarshalTo(buf []byte) (int, error) {
	if len(p.CSRC) > 15 {
		return 0, fmt.Errorf("rtp: %d CSRCs, at most 15", len(p.CSRC))
	}
	if p.Extension && len(p.ExtensionPayload)%4 != 0 {
		return 0, fmt.Errorf("rtp: extension of %d bytes is not whole words", len(p.ExtensionPayload))
	}
	if p.PayloadType > 0x7f {
		return 0, fmt.Errorf("rtp: payload type %d out of range", p.PayloadType)
	}
	n := p.MarshalSize()
	if len(buf) < n {
		return 0, fmt.Errorf("rtp: buffer of %d bytes for a %d-byte packet", len(buf), n)
	}
	b0 := byte(Version<<6) | byte(len(p.CSRC))
	if p.PaddingSize > 0 {
		b0 |= 0x20
	}
	if p.Extension {
		b0 |= 0x10
	}
	buf[0] = b0
	buf[1] = p.PayloadType
	if p.Marker {
		buf[1] |= 0x80
	}
	binary.BigEndian.PutUint16(buf[2:], p.SequenceNumber)
	binary.BigEndian.PutUint32(buf[4:], p.Timestamp)
	binary.BigEndian.PutUint32(buf[8:], p.SSRC)
	off := HeaderSize
	for _, c := range p.CSRC {
		binary.BigEndian.PutUint32(buf[off:], c)
		off += 4
	}
	if p.Extension {
		binary.BigEndian.PutUint16(buf[off:], p.ExtensionProfile)
		binary.BigEndian.PutUint16(buf[off+2:], uint16(len(p.ExtensionPayload)/4))
		off += 4
		off += copy(buf[off:], p.ExtensionPayload)
	}
	off += copy(buf[off:], p.Payload)
	if p.PaddingSize > 0 {
		for i := 0; i < int(p.PaddingSize)-1; i++ {
			buf[off+i] = 0
		}
		off += int(p.PaddingSize)
		buf[off-1] = p.PaddingSize
	}
	return off, nil
}

// Marshal returns p as a new byte slice.
func (p *Packet) Marshal() ([]byte, error) {
	buf := make([]byte, p.MarshalSize())
	n, err := p.MarshalTo(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}
