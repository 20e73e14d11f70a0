//go:build !linux

package media

import (
	"net"
	"net/netip"
	"time"
)

// rxReader reads datagrams; outside Linux without the kernel's receive
// timestamp.
type rxReader struct{ conn *net.UDPConn }

func newRxReader(conn *net.UDPConn) *rxReader { return &rxReader{conn: conn} }

func (r *rxReader) read(buf []byte) (int, netip.AddrPort, time.Time, error) {
	n, from, err := r.conn.ReadFromUDPAddrPort(buf)
	return n, from, time.Time{}, err
}
