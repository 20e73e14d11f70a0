package media

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"hotline/audio"
	"hotline/rtp"
)

const benchCalls = 200

// farEnd plays the agent desk's relay for one call: a UDP socket that
// receives the leg's RTP and sends the agent's 880 Hz back from itself.
type farEnd struct {
	conn     *net.UDPConn
	leg      netip.AddrPort
	stream   *rtp.Stream
	pkt      []byte
	received atomic.Uint64

	mu  sync.Mutex
	pcm []int16 // kept for the first calls only, to check the audio
}

func (f *farEnd) receive(keep bool) {
	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, err := f.conn.Read(buf)
		if err != nil {
			return
		}
		if p.Unmarshal(buf[:n]) != nil || p.PayloadType != rtp.PayloadTypePCMU {
			continue
		}
		f.received.Add(1)
		if keep {
			f.mu.Lock()
			f.pcm = audio.DecodePCMU(f.pcm, p.Payload)
			f.mu.Unlock()
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEngine200CallsWithMedia runs 200 calls, each a caller (440 Hz)
// bridged with an ExternalMedia leg whose far end sends 880 Hz back, at 50
// packets/s each way over loopback, on the real 20 ms clock. One op is one
// second of traffic. cpu-% is the whole process (engine, its 200 receive
// goroutines and the simulated far ends) as a share of one core.
func BenchmarkEngine200CallsWithMedia(b *testing.B) {
	e := NewEngine()
	defer e.Close()
	const checked = 3 // calls whose audio is checked both ways
	ears := make([]*ear, checked)
	fars := make([]*farEnd, benchCalls)
	exts := make([]*Leg, benchCalls)
	for i := range fars {
		conn := udpListen(b)
		caller := e.NewLeg(fmt.Sprint("caller-", i))
		caller.SetSource(Tone(callerHz, amp))
		if i < checked {
			ears[i] = listenTo(caller)
		}
		ext, local, err := e.NewExternalLeg(fmt.Sprint("ext-", i), conn.LocalAddr().String(), "127.0.0.1")
		if err != nil {
			b.Fatal(err)
		}
		br := e.NewBridge(fmt.Sprint("call-", i))
		br.Add(caller)
		br.Add(ext)
		exts[i] = ext
		fars[i] = &farEnd{conn: conn, leg: local.AddrPort(), stream: rtp.NewStream()}
		go fars[i].receive(i < checked)
	}

	// One goroutine paces all far ends, as a relay would; 880 Hz has a
	// whole number of cycles in one second, so the loop is seamless.
	agent := audio.Tone(agentHz, amp, audio.SampleRate)
	stopFar := make(chan struct{})
	farDone := make(chan struct{})
	go func() {
		defer close(farDone)
		t := time.NewTicker(FrameDuration)
		defer t.Stop()
		for n := 0; ; n++ {
			select {
			case <-stopFar:
				return
			case <-t.C:
			}
			off := (n % 50) * FrameSamples
			for _, f := range fars {
				f.pkt = f.stream.AppendPCMU(f.pkt[:0], agent[off:off+FrameSamples])
				_, _ = f.conn.WriteToUDPAddrPort(f.pkt, f.leg)
			}
		}
	}()

	sum := func() (sent, recvLeg, recvFar uint64) {
		for i := range fars {
			s := exts[i].Stats()
			sent += s.PacketsSent
			recvLeg += s.PacketsReceived
			recvFar += fars[i].received.Load()
		}
		return
	}
	// Let the streams settle before measuring.
	deadline := time.Now().Add(waitTimeout)
	for _, _, far := sum(); far < benchCalls*10; _, _, far = sum() {
		if time.Now().After(deadline) {
			b.Fatal("far ends never received the calls' RTP")
		}
		time.Sleep(10 * time.Millisecond)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heapBefore, mallocsBefore := ms.HeapInuse, ms.Mallocs

	sent0, recvLeg0, recvFar0 := sum()
	cpu0, wall0 := cpuTime(), time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		time.Sleep(time.Second) // one op is one second of live calls
	}
	b.StopTimer()
	wall, cpu := time.Since(wall0), cpuTime()-cpu0
	sent1, recvLeg1, recvFar1 := sum()
	runtime.ReadMemStats(&ms)
	close(stopFar)
	<-farDone

	secs := wall.Seconds()
	b.ReportMetric(100*cpu.Seconds()/secs, "cpu-%")
	b.ReportMetric(float64(sent1-sent0)/secs, "pkts-out/s")
	b.ReportMetric(float64(recvFar1-recvFar0)/secs, "pkts-at-far/s")
	b.ReportMetric(float64(recvLeg1-recvLeg0)/secs, "pkts-in/s")
	b.ReportMetric(float64(heapBefore)/(1<<20), "heap-MB")
	b.ReportMetric(float64(ms.Mallocs-mallocsBefore)/secs, "allocs/s")
	b.ReportMetric(0, "ns/op") // one op is a second of wall time by design

	// The figures only count if the audio is right both ways.
	for i := 0; i < checked; i++ {
		heard := ears[i].heard()
		checkTones(b, fmt.Sprint("caller ", i), heard[len(heard)/2:], agentHz)
		fars[i].mu.Lock()
		pcm := fars[i].pcm
		checkTones(b, fmt.Sprint("far end ", i), pcm[len(pcm)/2:], callerHz)
		fars[i].mu.Unlock()
	}
	if rate := float64(sent1-sent0) / secs; rate < 0.9*50*benchCalls {
		b.Errorf("engine sent %.0f packets/s, want about %d", rate, 50*benchCalls)
	}
}

// BenchmarkTick200Calls measures one tick of the engine (mixing 200 bridged
// calls and sending their 200 RTP packets), without the clock.
func BenchmarkTick200Calls(b *testing.B) {
	e := NewEngine(WithManualClock())
	defer e.Close()
	sink := udpListen(b) // receives nothing back; the kernel drops the excess
	for i := 0; i < benchCalls; i++ {
		caller := e.NewLeg(fmt.Sprint("caller-", i))
		caller.SetSource(Tone(callerHz, amp))
		ext, _, err := e.NewExternalLeg(fmt.Sprint("ext-", i), sink.LocalAddr().String(), "127.0.0.1")
		if err != nil {
			b.Fatal(err)
		}
		br := e.NewBridge(fmt.Sprint("call-", i))
		br.Add(caller)
		br.Add(ext)
	}
	b.ReportAllocs()
	for b.Loop() {
		e.Tick()
	}
}
