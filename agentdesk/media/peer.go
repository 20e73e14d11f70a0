package media

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"hotline/rtp"
)

// negotiate creates a peer connection for st and answers offer with it.
func (s *Seats) negotiate(ctx context.Context, st *seat, offer string) (_ *peer, answer string, err error) {
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", fmt.Errorf("new peer connection: %w", err)
	}
	p := &peer{st: st, pc: pc}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	// The stream id names the agent in the browser's track events.
	p.track, err = webrtc.NewTrackLocalStaticRTP(pcmu, "audio", "seat-"+string(st.agent))
	if err != nil {
		return nil, "", fmt.Errorf("new track: %w", err)
	}
	pc.OnTrack(p.onTrack)
	pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) { s.onPeerState(st, p) })

	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrBadOffer, err)
	}
	// After the remote description, AddTrack takes the audio transceiver
	// the offer created, making it sendrecv.
	if p.sender, err = pc.AddTrack(p.track); err != nil {
		return nil, "", fmt.Errorf("add track: %w", err)
	}
	if enc := p.sender.GetParameters().Encodings; len(enc) > 0 {
		p.ssrc = uint32(enc[0].SSRC)
	}
	p.goLoop(p.readSenderRTCP)

	desc, err := pc.CreateAnswer(nil)
	if err != nil {
		return nil, "", fmt.Errorf("%w: create answer: %w", ErrBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		return nil, "", fmt.Errorf("set local description: %w", err)
	}
	timer := time.NewTimer(s.cfg.gatherTimeout)
	defer timer.Stop()
	select {
	case <-gathered:
	case <-timer.C:
		return nil, "", fmt.Errorf("ICE gathering not complete after %s", s.cfg.gatherTimeout)
	case <-ctx.Done():
		return nil, "", fmt.Errorf("ICE gathering: %w", ctx.Err())
	}
	local := pc.LocalDescription()
	if local == nil {
		return nil, "", errors.New("no local description after gathering")
	}
	return p, local.SDP, nil
}

// peer is one peer connection of a seat.
type peer struct {
	st     *seat
	pc     *webrtc.PeerConnection
	track  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender
	ssrc   uint32 // of our stream to the browser

	mu        sync.Mutex
	closing   bool
	loops     sync.WaitGroup
	closeOnce sync.Once
}

// goLoop runs fn on a goroutine that close waits for, unless closing.
func (p *peer) goLoop(fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closing {
		p.loops.Go(fn)
	}
}

// close closes the peer connection and waits for its goroutines and ours.
func (p *peer) close() {
	p.closeOnce.Do(func() {
		if err := p.pc.GracefulClose(); err != nil {
			p.st.log.Debug("close peer connection", "err", err)
		}
		p.mu.Lock()
		p.closing = true
		p.mu.Unlock()
		p.loops.Wait()
	})
}

// onTrack starts reading the browser's audio and its RTCP.
func (p *peer) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	if track.Kind() != webrtc.RTPCodecTypeAudio {
		return
	}
	p.goLoop(func() { drainRTCP(recv.Read) })
	p.goLoop(func() {
		buf := make([]byte, 1500)
		var pkt rtp.Packet
		for {
			n, _, err := track.Read(buf)
			if err != nil {
				return
			}
			at := time.Now()
			if pkt.Unmarshal(buf[:n]) != nil || pkt.PayloadType != pcmuPT {
				p.st.drop()
				continue
			}
			p.st.fromAgent(&pkt, at)
		}
	})
}

// readSenderRTCP reads the RTCP about our stream (the browser's receiver
// reports); reading also lets the interceptors see it.
func (p *peer) readSenderRTCP() {
	buf := make([]byte, 1500)
	for {
		n, _, err := p.sender.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, pkt := range pkts {
			switch r := pkt.(type) {
			case *rtcp.ReceiverReport:
				p.st.noteReports(p.ssrc, r.Reports)
			case *rtcp.SenderReport:
				p.st.noteReports(p.ssrc, r.Reports)
			}
		}
	}
}

// drainRTCP reads RTCP until the stream closes: pion's interceptors only
// see what is read.
func drainRTCP(read func([]byte) (int, interceptor.Attributes, error)) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := read(buf); err != nil {
			return
		}
	}
}
