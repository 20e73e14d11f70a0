package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/cases/casestest"
	"hotline/pbx/sim"
)

// TestServeOverTLS: with http.tls_cert_file and http.tls_key_file, serve speaks HTTPS only
// and the session cookie is Secure.
func TestServeOverTLS(t *testing.T) {
	if os.Getenv("HOTLINE_REDIS_URL") == "" {
		t.Fatal("HOTLINE_REDIS_URL is not set: run `make test`")
	}
	certFile, keyFile, pool := testCertificate(t)
	addr := freeAddr(t)
	pbxSim, err := sim.New(sim.Config{Password: "tls-test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := pbxSim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pbxSim.Close() })
	t.Setenv("HOTLINE_ARI_URL", pbxSim.URL()+"/ari")
	t.Setenv("HOTLINE_ARI_PASSWORD", "tls-test")
	t.Setenv("HOTLINE_RECORDINGS_DIR", t.TempDir())
	dbURL := casestest.NewDatabase(t)
	t.Setenv("HOTLINE_DATABASE_URL", dbURL)
	t.Setenv("HOTLINE_HTTP_LISTEN", addr)
	t.Setenv("HOTLINE_HTTP_TLS_CERT_FILE", certFile)
	t.Setenv("HOTLINE_HTTP_TLS_KEY_FILE", keyFile)
	t.Setenv("HOTLINE_LOG_LEVEL", "error")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, io.Discard, []string{"-config", "../../hotline.example.yaml"}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve stopped with %v", err)
		}
	}()

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}}
	waitFor(t, 30*time.Second, "HTTPS health", done, func() bool {
		resp, err := client.Get("https://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	// Plain HTTP on the TLS port gets Go's 400, never the API.
	if code := status("http://" + addr + "/healthz"); code != http.StatusBadRequest {
		t.Errorf("plain HTTP to the TLS port: %d, want 400", code)
	}

	createAgent(t, dbURL)
	resp, err := client.Post("https://"+addr+"/api/auth/login", "application/json",
		strings.NewReader(`{"login":"li.na","password":"correct horse battery"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in over HTTPS: %d", resp.StatusCode)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "hotline_session" {
			session = c
		}
	}
	if session == nil || !session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v, want Secure, HttpOnly, SameSite=Strict", session)
	}
}

// testCertificate writes a self-signed certificate for 127.0.0.1 and returns its files and
// a pool that trusts it.
func testCertificate(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hotline test"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
