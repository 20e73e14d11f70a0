package media

import (
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"
)

// rxReader reads datagrams with the kernel's receive timestamp, to measure
// how long a packet waited in the socket for the relay goroutine to be
// scheduled: on a loaded host that wait, not the relay's own work, is what
// grows.
type rxReader struct {
	conn    *net.UDPConn
	oob     []byte
	stamped bool
}

func newRxReader(conn *net.UDPConn) *rxReader {
	r := &rxReader{conn: conn, oob: make([]byte, syscall.CmsgSpace(int(unsafe.Sizeof(syscall.Timespec{}))))}
	if raw, err := conn.SyscallConn(); err == nil {
		var serr error
		if err := raw.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
		}); err == nil && serr == nil {
			r.stamped = true
		}
	}
	return r
}

// read returns a datagram, its source, and when the kernel received it
// (zero if unknown).
func (r *rxReader) read(buf []byte) (int, netip.AddrPort, time.Time, error) {
	if !r.stamped {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		return n, from, time.Time{}, err
	}
	n, oobn, _, from, err := r.conn.ReadMsgUDPAddrPort(buf, r.oob)
	if err != nil {
		return n, from, time.Time{}, err
	}
	at, _ := rxTimestamp(r.oob[:oobn])
	return n, from, at, nil
}

// rxTimestamp finds SCM_TIMESTAMPNS in a control message buffer, without
// the allocations of syscall.ParseSocketControlMessage (it runs per packet).
func rxTimestamp(oob []byte) (time.Time, bool) {
	hdr := syscall.CmsgLen(0)
	for len(oob) >= hdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdr || l > len(oob) {
			return time.Time{}, false
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS &&
			l-hdr >= int(unsafe.Sizeof(syscall.Timespec{})) {
			ts := (*syscall.Timespec)(unsafe.Pointer(&oob[hdr]))
			return time.Unix(int64(ts.Sec), int64(ts.Nsec)), true
		}
		next := syscall.CmsgSpace(l - hdr)
		if next > len(oob) {
			break
		}
		oob = oob[next:]
	}
	return time.Time{}, false
}
