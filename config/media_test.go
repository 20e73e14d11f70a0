package config

import (
	"strings"
	"testing"
	"time"
)

func TestMediaProblems(t *testing.T) {
	ok := Media{LoopbackOnly: true, RTPHost: "127.0.0.1", SeatReconnectGrace: 20 * time.Second}
	tests := []struct {
		name string
		edit func(*Media)
		want string // a problem naming this; "" for none
	}{
		{"defaults", func(*Media) {}, ""},
		{"public IPs and ranges", func(m *Media) {
			m.ICEPublicIPs, m.ICEPortMin, m.ICEPortMax, m.RTPPortMin, m.RTPPortMax = " 203.0.113.7, 2001:db8::1", 40000, 40999, 41000, 41999
		}, ""},
		{"bad public IP", func(m *Media) { m.ICEPublicIPs = "203.0.113.7,pbx.example" }, `media.ice_public_ips: "pbx.example"`},
		{"half an ICE range", func(m *Media) { m.ICEPortMin = 40000 }, "media.ice_port_min and ice_port_max: set both"},
		{"empty RTP range", func(m *Media) { m.RTPPortMin, m.RTPPortMax = 42000, 41000 }, "media.rtp_port_min and rtp_port_max: 42000-41000 is empty"},
		{"port out of range", func(m *Media) { m.RTPPortMin, m.RTPPortMax = 1, 70000 }, "is not a UDP port range"},
		{"unspecified RTP host", func(m *Media) { m.RTPHost = "0.0.0.0" }, "media.rtp_host"},
		{"no grace", func(m *Media) { m.SeatReconnectGrace = 0 }, "media.seat_reconnect_grace"},
		{"grace too long", func(m *Media) { m.SeatReconnectGrace = time.Hour }, "media.seat_reconnect_grace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok
			tt.edit(&m)
			errs := m.problems()
			if tt.want == "" {
				if len(errs) > 0 {
					t.Errorf("problems %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.want) {
				t.Errorf("problems %v, want one naming %q", errs, tt.want)
			}
		})
	}
}

func TestMediaDefaultsLoad(t *testing.T) {
	cfg, err := load("", func(k string) (string, bool) {
		switch k {
		case "HOTLINE_DATABASE_URL":
			return "postgres://u@127.0.0.1:5432/h", true
		case "HOTLINE_REDIS_URL":
			return "redis://127.0.0.1:6379/0", true
		case "HOTLINE_MEDIA_SEAT_RECONNECT_GRACE":
			return "45s", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := cfg.Media; !m.LoopbackOnly || m.RTPHost != "127.0.0.1" || m.SeatReconnectGrace != 45*time.Second || m.ICEPortMax != 0 {
		t.Errorf("media %+v", m)
	}
}
