// Package browsertest has what the browser tests share: Debian's Chromium, a network
// namespace with nothing but lo for it (TESTING-MEDIA.md: Chromium reaches for the network
// even when told not to), Unix-socket forwarders that let a test inside the namespace reach
// PostgreSQL and Redis outside it (a socket file is visible from every namespace), and
// where screenshots go.
//
// A test using it runs in two halves: the outer one makes the namespace and the data, then
// runs the test binary again inside the namespace (ip netns exec) to serve the pages and
// drive the browser.
package browsertest

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// Chromium returns Debian's Chromium or fails the test saying how to get it.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is not installed (no chromium or chromium-browser on PATH): run scripts/browser.sh as root to install Debian's chromium")
	return ""
}

// Netns creates a network namespace with only lo, up, and deletes it (with anything still
// running in it) when the test ends. It fails the test when that cannot be done: the
// browser must never run outside one.
func Netns(t testing.TB, prefix string) string {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("the ip command (iproute2) is missing: run scripts/browser.sh as root")
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := prefix + "-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("cannot create a network namespace for the browser (it needs root; CI runs as root): ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		// Whatever the inner run left behind in the namespace (a browser) was started by
		// this test: end it by its pid.
		if out, err := exec.Command("ip", "netns", "pids", name).Output(); err == nil {
			for _, f := range strings.Fields(string(out)) {
				if pid, err := strconv.Atoi(f); err == nil {
					if p, err := os.FindProcess(pid); err == nil {
						_ = p.Kill()
					}
				}
			}
		}
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
		_ = os.RemoveAll(filepath.Join("/etc/netns", name))
	})
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s link set lo up: %v: %s", name, err, out)
	}
	// ip netns exec binds this over /etc/resolv.conf: stray name look-ups stay on loopback.
	dir := filepath.Join("/etc/netns", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("namespace resolv.conf: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		t.Fatalf("namespace resolv.conf: %v", err)
	}
	if out, err := exec.Command("ip", "netns", "exec", name, "ip", "-o", "link").Output(); err != nil || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
		t.Fatalf("namespace %s should have only lo: %v: %s", name, err, out)
	}
	return name
}

// SocketDir returns a fresh directory for Unix sockets, removed when the test ends. Socket
// paths are short (108 bytes): no t.TempDir under a long test name.
func SocketDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hlbrowser")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Forward serves the Unix socket path, forwarding every connection to the TCP address
// addr, until the test ends.
func Forward(t testing.TB, path, addr string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	forward(t, ln, func() (net.Conn, error) { return net.Dial("tcp", addr) })
}

// ForwardToSocket is Forward's other end, for the half inside the namespace: it serves a
// fresh TCP port on 127.0.0.1, forwarding every connection to the Unix socket path, until
// the test ends, and returns the port's address. Code that takes only TCP addresses (a
// redis:// or postgres:// URL) reaches the services outside through it.
func ForwardToSocket(t testing.TB, path string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	forward(t, ln, func() (net.Conn, error) { return net.Dial("unix", path) })
	return ln.Addr().String()
}

// forward accepts on ln until the test ends, joining each connection to one from dial.
func forward(t testing.TB, ln net.Listener, dial func() (net.Conn, error)) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := dial()
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			open = append(open, c, up)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(up, c); up.Close() })
			wg.Go(func() { _, _ = io.Copy(c, up); c.Close() })
		}
	})
}

// ScreenshotPath is where a test leaves its screenshot name: $HOTLINE_SCREENSHOT_DIR, or
// .run/screenshots at the module root.
func ScreenshotPath(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv("HOTLINE_SCREENSHOT_DIR")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for root := wd; ; root = filepath.Dir(root) {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				dir = filepath.Join(root, ".run", "screenshots")
				break
			}
			if filepath.Dir(root) == root {
				dir = filepath.Join(os.TempDir(), "hotline-screenshots")
				break
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name)
}

// Options are Chromium's flags for a test (TESTING-MEDIA.md), with a fresh profile in
// userData and the window size.
func Options(chromium, userData string, width, height int) []chromedp.ExecAllocatorOption {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("headless", "new"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(userData),
		chromedp.WindowSize(width, height),
	}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	return opts
}
