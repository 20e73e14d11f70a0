package media_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hotline/agentdesk/media"
	"hotline/agentdesk/media/mediatest"
	"hotline/audio"
)

var (
	benchSeats  = flag.Int("media.seats", 100, "seats in BenchmarkSeats")
	benchWindow = flag.Duration("media.window", 10*time.Second, "measurement window of BenchmarkSeats")
	benchWarmup = flag.Duration("media.warmup", 2*time.Second, "warm-up before BenchmarkSeats measures")
	benchNice   = flag.Int("media.peers-nice", 0, "nice level of BenchmarkSeats' load peers (0: same as the seats)")
	benchCPUs   = flag.String("media.peers-cpus", "", "CPU list the load peers are pinned to with taskset (empty: not pinned)")
)

// The far ends of the benchmark's seats (pion clients and fake Asterisk
// sockets) run in a child process, the test binary started again with
// this variable set, so that the parent's CPU time is the seats' alone.
const loadPeersEnv = "HOTLINE_MEDIA_LOAD_PEERS"

func TestMain(m *testing.M) {
	if n := os.Getenv(loadPeersEnv); n != "" {
		os.Exit(runLoadPeers(n))
	}
	os.Exit(m.Run())
}

// loadMsg is one line of the parent-child conversation.
type loadMsg struct {
	Offers  []string     `json:"offers,omitempty"`
	Answers []string     `json:"answers,omitempty"`
	Relays  []string     `json:"relays,omitempty"`
	Probe   string       `json:"probe,omitempty"` // the parent's baseline socket
	Cmd     string       `json:"cmd,omitempty"`   // reset, report, quit
	Ready   bool         `json:"ready,omitempty"`
	Report  []peerReport `json:"report,omitempty"`
	CPU     float64      `json:"cpu,omitempty"` // child CPU seconds since reset
	Err     string       `json:"err,omitempty"`
}

// peerReport is what one seat's far ends heard in the window: the share of
// the expected tone and of the stray one.
type peerReport struct {
	AgentHears, AgentStray float64
	PBXHears, PBXStray     float64
	AgentPackets           uint64
	PBXPackets             uint64
}

// BenchmarkSeats relays both ways on many seats at once and reports the
// seats' CPU per seat and the relay latency.
//
//	go test -run '^$' -bench BenchmarkSeats -benchtime 1x ./agentdesk/media/ -args -media.seats 100
func BenchmarkSeats(b *testing.B) {
	n := *benchSeats
	seats, err := media.New(media.LoopbackOnly(), media.WithLogger(testLog()))
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := seats.Shutdown(ctx); err != nil {
			b.Error(err)
		}
	}()

	// On a small host the load peers compete with the seats for the same
	// cores; niced or pinned elsewhere, they disturb the seats less.
	argv := []string{os.Args[0], "-test.run=^$"}
	if *benchNice != 0 {
		argv = append([]string{"nice", "-n", strconv.Itoa(*benchNice)}, argv...)
	}
	if *benchCPUs != "" {
		argv = append([]string{"taskset", "-c", *benchCPUs}, argv...)
	}
	child := exec.Command(argv[0], argv[1:]...)
	child.Env = append(os.Environ(), loadPeersEnv+"="+strconv.Itoa(n))
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	send := json.NewEncoder(stdin)
	recvDec := json.NewDecoder(bufio.NewReader(stdout))
	recv := func() loadMsg {
		var m loadMsg
		if err := recvDec.Decode(&m); err != nil {
			b.Fatalf("from load peers: %v", err)
		}
		if m.Err != "" {
			b.Fatalf("load peers: %s", m.Err)
		}
		return m
	}

	// Open the seats and attach a call to each, a few at a time.
	offers := recv().Offers
	if len(offers) != n {
		b.Fatalf("%d offers for %d seats", len(offers), n)
	}
	answers, relays := make([]string, n), make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			agent := media.AgentID(fmt.Sprintf("load-%03d", i))
			answer, err := seats.Open(ctx, agent, offers[i])
			if err != nil {
				errs <- err
				return
			}
			udp, err := seats.AttachCall(ctx, agent, media.CallID(fmt.Sprintf("call-%03d", i)))
			if err != nil {
				errs <- err
				return
			}
			answers[i], relays[i] = answer, udp.String()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	// A bare socket in this process, fed like a relay socket: its wait
	// is the host's and the Go scheduler's share of the relay's socket
	// wait, with no relay work in it.
	probe, err := newWaitProbe()
	if err != nil {
		b.Fatal(err)
	}
	defer probe.close()
	if err := send.Encode(loadMsg{Answers: answers, Relays: relays, Probe: probe.addr()}); err != nil {
		b.Fatal(err)
	}
	recv() // ready: every client connected and sending

	warm := time.NewTimer(*benchWarmup)
	<-warm.C
	if err := send.Encode(loadMsg{Cmd: "reset"}); err != nil {
		b.Fatal(err)
	}
	recv()
	seats.ResetRelayLatency()
	probe.reset()
	b.ResetTimer()
	cpu0, wall0, host0 := processCPU(b), time.Now(), hostCPU()
	window := time.NewTimer(*benchWindow)
	<-window.C
	cpu1, wall1, host1 := processCPU(b), time.Now(), hostCPU()
	b.StopTimer()

	if err := send.Encode(loadMsg{Cmd: "report"}); err != nil {
		b.Fatal(err)
	}
	rep := recv()
	_ = send.Encode(loadMsg{Cmd: "quit"})

	// The figures only count if every seat carried the right audio.
	bad := 0
	var agentPkts, pbxPkts uint64
	for i, r := range rep.Report {
		agentPkts += r.AgentPackets
		pbxPkts += r.PBXPackets
		if r.AgentHears < 0.8 || r.AgentStray > 0.05 || r.PBXHears < 0.8 || r.PBXStray > 0.05 {
			bad++
			if bad <= 5 {
				b.Errorf("seat %d: agent hears %.2f of 440 Hz (%.2f of 880), asterisk %.2f of 880 Hz (%.2f of 440)",
					i, r.AgentHears, r.AgentStray, r.PBXHears, r.PBXStray)
			}
		}
	}
	if len(rep.Report) != n || bad > 0 {
		b.Fatalf("%d of %d seats carried the wrong audio", bad, len(rep.Report))
	}

	wall := wall1.Sub(wall0).Seconds()
	cpuShare := (cpu1 - cpu0) / wall // cores busy with the seats
	perSeat := 100 * cpuShare / float64(n)
	toAgent, toCaller, wait := seats.RelayLatency(media.ToAgent), seats.RelayLatency(media.ToCaller), seats.SocketWait()
	var lostIn int64
	for _, h := range seats.HealthAll() {
		lostIn += h.FromAgent.Lost
	}
	b.ReportMetric(perSeat, "%core/seat")
	b.ReportMetric(us(toAgent.P99), "p99-to-agent-µs")
	b.ReportMetric(us(toCaller.P99), "p99-to-caller-µs")
	b.ReportMetric(us(wait.P99), "p99-socket-wait-µs")
	b.ReportMetric(float64(toAgent.Count+toCaller.Count)/wall, "pkts/s")
	b.Logf("%d seats, %.1f s window, GOMAXPROCS %d: seats process %.1f%% of one core (%.3f%% per seat); load peers %.1f%%",
		n, wall, runtime.GOMAXPROCS(0), 100*cpuShare, perSeat, 100*rep.CPU/wall)
	b.Logf("host during the window: %.0f%% of its %d CPUs busy (all processes), load average %s",
		100*host1.busySince(host0), host1.cpus, loadAvg())
	b.Logf("to agent:  %d pkts, mean %s, p50 %s, p90 %s, p99 %s, p99.9 %s, max %s",
		toAgent.Count, toAgent.Mean, toAgent.P50, toAgent.P90, toAgent.P99, toAgent.P999, toAgent.Max)
	b.Logf("to caller: %d pkts, mean %s, p50 %s, p90 %s, p99 %s, p99.9 %s, max %s",
		toCaller.Count, toCaller.Mean, toCaller.P50, toCaller.P90, toCaller.P99, toCaller.P999, toCaller.Max)
	b.Logf("socket wait (kernel arrival to read, to agent only): mean %s, p50 %s, p90 %s, p99 %s, p99.9 %s, max %s",
		wait.Mean, wait.P50, wait.P90, wait.P99, wait.P999, wait.Max)
	base := probe.quantiles()
	b.Logf("baseline socket wait of a bare socket in this process: %d pkts, p50 %s, p90 %s, p99 %s, max %s",
		base.n, base.p50, base.p90, base.p99, base.max)
	b.Logf("received in window: agents %d pkts, asterisks %d pkts (%.1f pkts/s per seat each way); browser->seat loss %d",
		agentPkts, pbxPkts, float64(agentPkts)/wall/float64(n), lostIn)
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// processCPU returns this process's user+system CPU time in seconds.
func processCPU(tb testing.TB) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// hostTimes are the machine's CPU jiffies from /proc/stat.
type hostTimes struct {
	busy, total uint64
	cpus        int
}

func hostCPU() hostTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return hostTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var h hostTimes
	for _, l := range strings.Split(string(b), "\n") {
		if len(l) > 3 && strings.HasPrefix(l, "cpu") && l[3] >= '0' && l[3] <= '9' {
			h.cpus++
		}
	}
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseUint(f, 10, 64)
		h.total += v
		if i != 3 && i != 4 { // idle, iowait
			h.busy += v
		}
	}
	return h
}

func (h hostTimes) busySince(start hostTimes) float64 {
	if h.total <= start.total {
		return 0
	}
	return float64(h.busy-start.busy) / float64(h.total-start.total)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// runLoadPeers is the child: n pion clients and n fake Asterisk sockets,
// driven over stdin and stdout.
func runLoadPeers(nText string) int {
	out := json.NewEncoder(os.Stdout)
	in := json.NewDecoder(bufio.NewReader(os.Stdin))
	fail := func(err error) int {
		_ = out.Encode(loadMsg{Err: err.Error()})
		return 1
	}
	n, err := strconv.Atoi(nText)
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	clients, pbxs := make([]*mediatest.Client, n), make([]*mediatest.PBX, n)
	defer func() {
		for i := range n {
			if clients[i] != nil {
				_ = clients[i].Close()
			}
			if pbxs[i] != nil {
				_ = pbxs[i].Close()
			}
		}
	}()
	offers := make([]string, n)
	for i := range n {
		if clients[i], err = mediatest.NewClient(); err != nil {
			return fail(err)
		}
		if pbxs[i], err = mediatest.NewPBX(); err != nil {
			return fail(err)
		}
		if offers[i], err = clients[i].Offer(ctx); err != nil {
			return fail(err)
		}
	}
	if err := out.Encode(loadMsg{Offers: offers}); err != nil {
		return fail(err)
	}
	var m loadMsg
	if err := in.Decode(&m); err != nil {
		return fail(err)
	}
	for i := range n {
		if err := clients[i].Accept(m.Answers[i]); err != nil {
			return fail(err)
		}
	}
	for i := range n {
		if err := clients[i].WaitConnected(ctx); err != nil {
			return fail(fmt.Errorf("client %d: %w", i, err))
		}
	}
	sending, stop := context.WithCancel(context.Background())
	var senders sync.WaitGroup
	defer func() { stop(); senders.Wait() }()
	probePBX, err := mediatest.NewPBX()
	if err != nil {
		return fail(err)
	}
	defer probePBX.Close()
	probeAddr, err := netip.ParseAddrPort(m.Probe)
	if err != nil {
		return fail(err)
	}
	senders.Go(func() { _ = probePBX.SendTone(sending, probeAddr, callerHz) })
	for i := range n {
		relay, err := netip.ParseAddrPort(m.Relays[i])
		if err != nil {
			return fail(err)
		}
		// Calls start at random moments, so their packets are spread over
		// the 20 ms rather than arriving in one burst.
		phase := time.Duration(rand.Int64N(int64(audio.FrameDuration)))
		senders.Go(func() {
			if waitOrDone(sending, phase) {
				_ = pbxs[i].SendTone(sending, relay, callerHz)
			}
		})
		senders.Go(func() {
			if waitOrDone(sending, phase) {
				_ = clients[i].SendTone(sending, agentHz)
			}
		})
	}
	if err := out.Encode(loadMsg{Ready: true}); err != nil {
		return fail(err)
	}
	var cpu0 float64
	for {
		var cmd loadMsg
		if err := in.Decode(&cmd); err != nil {
			return fail(err)
		}
		switch cmd.Cmd {
		case "reset":
			for i := range n {
				clients[i].Reset()
				pbxs[i].Reset()
			}
			cpu0 = childCPU()
			_ = out.Encode(loadMsg{Ready: true})
		case "report":
			rep := make([]peerReport, n)
			for i := range n {
				a, p := clients[i].Samples(), pbxs[i].Samples()
				rep[i] = peerReport{
					AgentHears: audio.MedianToneShare(a, callerHz), AgentStray: audio.MedianToneShare(a, agentHz),
					PBXHears: audio.MedianToneShare(p, agentHz), PBXStray: audio.MedianToneShare(p, callerHz),
					AgentPackets: uint64(len(a) / audio.FrameSamples), PBXPackets: uint64(len(p) / audio.FrameSamples),
				}
			}
			_ = out.Encode(loadMsg{Report: rep, CPU: childCPU() - cpu0})
		case "quit":
			return 0
		}
	}
}

// waitOrDone waits d and reports whether ctx is still live.
func waitOrDone(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func childCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// waitProbe reads a UDP socket with kernel receive timestamps and keeps
// each packet's wait in the socket.
type waitProbe struct {
	conn *net.UDPConn
	done chan struct{}

	mu    sync.Mutex
	waits []time.Duration
}

func newWaitProbe() (*waitProbe, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("SO_TIMESTAMPNS: %v %v", err, serr)
	}
	p := &waitProbe{conn: conn, done: make(chan struct{})}
	go p.run()
	return p, nil
}

func (p *waitProbe) addr() string { return p.conn.LocalAddr().String() }

func (p *waitProbe) run() {
	defer close(p.done)
	buf, oob := make([]byte, 1500), make([]byte, 128)
	for {
		_, oobn, _, _, err := p.conn.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			return
		}
		now := time.Now()
		msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			continue
		}
		for _, m := range msgs {
			if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
				sec := int64(binary.NativeEndian.Uint64(m.Data[0:]))
				nsec := int64(binary.NativeEndian.Uint64(m.Data[8:]))
				p.mu.Lock()
				p.waits = append(p.waits, now.Sub(time.Unix(sec, nsec)))
				p.mu.Unlock()
			}
		}
	}
}

func (p *waitProbe) reset() {
	p.mu.Lock()
	p.waits = p.waits[:0]
	p.mu.Unlock()
}

type probeQuantiles struct {
	n                  int
	p50, p90, p99, max time.Duration
}

func (p *waitProbe) quantiles() probeQuantiles {
	p.mu.Lock()
	w := slices.Clone(p.waits)
	p.mu.Unlock()
	if len(w) == 0 {
		return probeQuantiles{}
	}
	slices.Sort(w)
	at := func(q float64) time.Duration { return w[int(q*float64(len(w)-1))] }
	return probeQuantiles{len(w), at(0.5), at(0.9), at(0.99), w[len(w)-1]}
}

func (p *waitProbe) close() {
	_ = p.conn.Close()
	<-p.done
}
