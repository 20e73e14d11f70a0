package media

import (
	"errors"
	"strings"
	"testing"
)

// sdpWith builds a minimal session with the given media sections.
func sdpWith(media ...string) string {
	return strings.Join(append([]string{"v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0"}, media...), "\r\n") + "\r\n"
}

func TestCheckOffer(t *testing.T) {
	tests := []struct {
		name  string
		offer string
		ok    bool
		why   string // in the error
	}{
		{"empty", "", false, "empty"},
		{"not SDP", "hello, seat", false, "unusable"},
		{"no media", sdpWith(), false, "no audio"},
		{"video only", sdpWith("m=video 9 UDP/TLS/RTP/SAVPF 96", "a=rtpmap:96 VP8/90000"), false, "no audio"},
		{"rejected audio", sdpWith("m=audio 0 UDP/TLS/RTP/SAVPF 0", "a=rtpmap:0 PCMU/8000"), false, "no audio"},
		{"opus only", sdpWith("m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=rtpmap:111 opus/48000/2"), false, "without PCMU"},
		{"PCMU at 16 kHz is not G.711", sdpWith("m=audio 9 UDP/TLS/RTP/SAVPF 0", "a=rtpmap:0 PCMU/16000"), false, "without PCMU"},
		{"rtpmap for a format not listed", sdpWith("m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=rtpmap:111 opus/48000/2", "a=rtpmap:0 PCMU/8000"), false, "without PCMU"},
		{"opus first then PCMU", sdpWith("m=audio 9 UDP/TLS/RTP/SAVPF 111 0", "a=rtpmap:111 opus/48000/2", "a=rtpmap:0 PCMU/8000"), true, ""},
		{"PCMU by static type", sdpWith("m=audio 9 RTP/AVP 0"), true, ""},
		{"PCMU lower case", sdpWith("m=audio 9 UDP/TLS/RTP/SAVPF 0", "a=rtpmap:0 pcmu/8000"), true, ""},
		{"video then audio", sdpWith("m=video 9 UDP/TLS/RTP/SAVPF 96", "a=rtpmap:96 VP8/90000", "m=audio 9 UDP/TLS/RTP/SAVPF 0", "a=rtpmap:0 PCMU/8000"), true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkOffer(tt.offer)
			if tt.ok {
				if err != nil {
					t.Fatalf("checkOffer: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBadOffer) {
				t.Fatalf("err = %v, want ErrBadOffer", err)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("err = %q, want it to say %q", err, tt.why)
			}
		})
	}
}
