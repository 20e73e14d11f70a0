package main

import (
	"context"
	"testing"

	"hotline/agentdesk/media"
	"hotline/config"
)

// TestSeatOptions: the media section makes seats that start, and a bad address is refused.
func TestSeatOptions(t *testing.T) {
	for _, m := range []config.Media{
		defaultMedia,
		{LoopbackOnly: true, RTPHost: "127.0.0.1", ICEPortMin: 45000, ICEPortMax: 45099, RTPPortMin: 46000, RTPPortMax: 46099,
			SeatReconnectGrace: defaultMedia.SeatReconnectGrace},
	} {
		opts, err := seatOptions(m)
		if err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
		s, err := media.New(opts...)
		if err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
		if err := s.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}
	if _, err := seatOptions(config.Media{RTPHost: "localhost"}); err == nil {
		t.Error("a host name as rtp_host was accepted")
	}
}
