package media

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	pionrtp "github.com/pion/rtp"

	"hotline/rtp"
)

// attachment is a call attached to a seat: the UDP socket Asterisk's
// ExternalMedia channel talks to, and the stream sent back on it.
type attachment struct {
	st    *seat
	call  CallID
	conn  *net.UDPConn
	local netip.AddrPort
	log   *slog.Logger

	// remote is where the agent's audio goes. learned is set once a packet
	// from Asterisk has confirmed it; until then a told address (SetRemote)
	// may still be corrected by the first packet's source.
	remote  atomic.Pointer[netip.AddrPort]
	learned atomic.Bool

	muted, held atomic.Bool

	sendMu sync.Mutex // serialises the stream to Asterisk and guards closed
	closed bool
	seq    *sequencer
	ssrc   uint32
	buf    []byte

	done chan struct{} // closed when the receive loop has returned
}

func newAttachment(st *seat, call CallID, conn *net.UDPConn) *attachment {
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	return &attachment{
		st: st, call: call, conn: conn,
		local: netip.AddrPortFrom(local.Addr().Unmap(), local.Port()),
		log:   st.log.With("call", string(call)),
		seq:   newSequencer(),
		ssrc:  rand.Uint32(),
		buf:   make([]byte, 1500),
		done:  make(chan struct{}),
	}
}

func (a *attachment) setRemote(addr netip.AddrPort) {
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	if cur := a.remote.Load(); cur != nil && *cur == addr {
		return
	}
	a.remote.Store(&addr)
	a.learned.Store(false)
	a.log.Info("pbx address told", "pbx", addr)
}

// relearn lets the next packet from Asterisk fix its address again.
func (a *attachment) relearn() {
	if a.learned.Swap(false) {
		a.log.Info("pbx address to be learned again")
	}
}

// accept reports whether a packet from "from" belongs to the call. The
// first packet fixes Asterisk's address (symmetric RTP: Asterisk receives
// on the port it sends from); later packets from anywhere else are dropped.
func (a *attachment) accept(from netip.AddrPort) bool {
	if a.learned.Load() {
		return *a.remote.Load() == from
	}
	if told := a.remote.Load(); told != nil && *told != from {
		a.log.Warn("pbx sends from another address than told; following the packets",
			"told", *told, "from", from)
	}
	a.remote.Store(&from)
	a.learned.Store(true)
	a.log.Info("pbx address learned", "pbx", from)
	return true
}

// run relays Asterisk's packets to the browser until the socket closes.
func (a *attachment) run() {
	defer close(a.done)
	rx := newRxReader(a.conn)
	buf := make([]byte, 1500)
	var in rtp.Packet
	var out pionrtp.Packet
	failures := 0
	for {
		n, from, arrived, err := rx.read(buf)
		at := time.Now()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Unexpected; give up only if it persists, the call's audio
			// depends on this loop.
			if failures++; failures > 100 {
				a.log.Error("rtp receive keeps failing; relay to agent stopped", "err", err)
				return
			}
			a.log.Warn("rtp receive", "err", err)
			continue
		}
		failures = 0
		if !arrived.IsZero() {
			a.st.s.metrics.socketWait.observe(at.Sub(arrived))
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if in.Unmarshal(buf[:n]) != nil || in.PayloadType != pcmuPT || !a.accept(from) {
			a.st.drop()
			continue
		}
		a.st.fromPBX.Add(1)
		a.st.toAgent(&in, at, a.held.Load(), &out)
	}
}

// toPBX sends one packet of the agent's audio to Asterisk.
func (a *attachment) toPBX(in *rtp.Packet, at time.Time) {
	remote := a.remote.Load()
	if remote == nil {
		// Asterisk has not sent yet and nobody told us where it is.
		a.st.drop()
		return
	}
	payload := in.Payload
	if a.muted.Load() && len(payload) <= len(silence) {
		payload = silence[:len(payload)]
	}
	a.sendMu.Lock()
	if a.closed {
		a.sendMu.Unlock()
		return
	}
	seq, ts, first := a.seq.next(in.SSRC, in.SequenceNumber, in.Timestamp, at)
	out := rtp.Packet{Header: rtp.Header{Marker: first || in.Marker, PayloadType: pcmuPT,
		SequenceNumber: seq, Timestamp: ts, SSRC: a.ssrc}, Payload: payload}
	n, err := out.MarshalTo(a.buf)
	if err == nil {
		_, err = a.conn.WriteToUDPAddrPort(a.buf[:n], *remote)
	}
	a.sendMu.Unlock()
	if err != nil {
		a.st.drop()
		return
	}
	a.st.s.metrics.latency[ToCaller].observe(time.Since(at))
	a.st.s.metrics.packets[ToCaller].Add(1)
	a.st.toPBX.Add(1)
}

// close stops both directions: once it returns nothing more is sent from
// or read on the socket.
func (a *attachment) close() {
	a.sendMu.Lock()
	if a.closed {
		a.sendMu.Unlock()
		<-a.done
		return
	}
	a.closed = true
	a.sendMu.Unlock()
	_ = a.conn.Close()
	<-a.done
}
