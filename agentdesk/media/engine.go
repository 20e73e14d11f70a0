package media

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// pcmuPT is G.711 µ-law's static payload type (RFC 3551).
const pcmuPT = 0

var pcmu = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: clockRate}

// newAPI builds the pion API every seat shares: PCMU is the only codec
// (so the answer picks G.711 even when the browser lists Opus first, and
// no transcoding is ever needed between the browser and Asterisk's ulaw),
// RTCP sender and receiver reports are the only interceptors (NACK and
// congestion control buy nothing for 64 kbit/s audio and cost CPU), and
// mDNS is off (it joins multicast groups).
func newAPI(cfg config) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: pcmu, PayloadType: pcmuPT},
		webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("media: register PCMU: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, fmt.Errorf("media: RTCP reports: %w", err)
	}

	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(cfg.loopback)
	if cfg.interfaceFilter != nil {
		se.SetInterfaceFilter(cfg.interfaceFilter)
	}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if len(cfg.publicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.publicIPs, AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode: webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return nil, fmt.Errorf("media: public IPs: %w", err)
		}
	}
	if cfg.icePortMax > 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.icePortMin, cfg.icePortMax); err != nil {
			return nil, fmt.Errorf("media: ICE port range: %w", err)
		}
	}
	se.SetICETimeouts(cfg.iceDisconnected, cfg.iceFailed, cfg.iceKeepalive)
	se.LoggerFactory = pionLogs{cfg.log}

	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se),
		webrtc.WithInterceptorRegistry(ir)), nil
}

// checkOffer rejects, before any pion state exists, an offer that cannot
// give a PCMU audio seat, so that the error says why.
func checkOffer(offer string) error {
	if strings.TrimSpace(offer) == "" {
		return fmt.Errorf("%w: empty", ErrBadOffer)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return fmt.Errorf("%w: %w", ErrBadOffer, err)
	}
	audio := false
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 {
			continue
		}
		audio = true
		if offersPCMU(m) {
			return nil
		}
	}
	if !audio {
		return fmt.Errorf("%w: no audio section", ErrBadOffer)
	}
	return fmt.Errorf("%w: audio without PCMU/8000", ErrBadOffer)
}

// offersPCMU reports whether an audio section lists PCMU: by rtpmap, or as
// static payload type 0 without one (RFC 3551 needs no rtpmap for it).
func offersPCMU(m *sdp.MediaDescription) bool {
	formats := make(map[string]bool, len(m.MediaName.Formats))
	for _, f := range m.MediaName.Formats {
		formats[f] = true
	}
	mapped := make(map[string]bool)
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, enc, ok := strings.Cut(a.Value, " ")
		if !ok {
			continue
		}
		mapped[pt] = true
		name, rest, _ := strings.Cut(enc, "/")
		rate, _, _ := strings.Cut(rest, "/")
		if formats[pt] && strings.EqualFold(name, "PCMU") && rate == strconv.Itoa(clockRate) {
			return true
		}
	}
	return formats[strconv.Itoa(pcmuPT)] && !mapped[strconv.Itoa(pcmuPT)]
}
