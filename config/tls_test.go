package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files.
func selfSigned(t *testing.T) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hotline test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestTLSFiles(t *testing.T) {
	cert, key := selfSigned(t)
	missing := filepath.Join(t.TempDir(), "nope.pem")
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string // "" = loads
	}{
		{"neither", nil, ""},
		{"both, a valid pair", map[string]string{"HOTLINE_HTTP_TLS_CERT_FILE": cert, "HOTLINE_HTTP_TLS_KEY_FILE": key}, ""},
		{"certificate only", map[string]string{"HOTLINE_HTTP_TLS_CERT_FILE": cert},
			"http.tls_cert_file and http.tls_key_file: set both or neither"},
		{"key only", map[string]string{"HOTLINE_HTTP_TLS_KEY_FILE": key},
			"http.tls_cert_file and http.tls_key_file: set both or neither"},
		{"a missing file", map[string]string{"HOTLINE_HTTP_TLS_CERT_FILE": missing, "HOTLINE_HTTP_TLS_KEY_FILE": key},
			`http.tls_cert_file "` + missing + `", http.tls_key_file "` + key + `": open ` + missing},
		{"key and certificate swapped", map[string]string{"HOTLINE_HTTP_TLS_CERT_FILE": key, "HOTLINE_HTTP_TLS_KEY_FILE": cert},
			`http.tls_cert_file "` + key + `"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(write(t, minimal), env(tt.env))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("want it to load: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
