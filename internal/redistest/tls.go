package redistest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type tlsMode int

const (
	noTLS tlsMode = iota
	serverTLS
	mutualTLS
)

// TLS serves Redis over TLS only (--port 0 --tls-port N), with a certificate for 127.0.0.1, ::1 and
// localhost signed by a private CA generated for the test; clients are not asked for a certificate
// (--tls-auth-clients no). Cluster nodes also speak TLS on the cluster bus, replicas and sentinels to
// their primary. It applies to Start, StartCluster and StartSentinel.
func TLS() ServerOption { return func(c *config) { c.tls = serverTLS } }

// MutualTLS is TLS with --tls-auth-clients yes: a client must show a certificate the private CA signed
// (TLSFiles.ClientCert; TLSConfig carries it).
func MutualTLS() ServerOption { return func(c *config) { c.tls = mutualTLS } }

// TLSFiles are the PEM files of a shape started with TLS or MutualTLS, in a temporary directory of the
// test. Keys are unencrypted.
type TLSFiles struct {
	CACert     string // the private CA that signed both certificates
	ServerCert string // for 127.0.0.1, ::1 and localhost; also the nodes' client certificate between them
	ServerKey  string
	ClientCert string // a client certificate for mutual TLS
	ClientKey  string
}

// pki is the private CA of one shape and the certificates it signed.
type pki struct {
	mode   tlsMode
	files  TLSFiles
	roots  *x509.CertPool
	client tls.Certificate
}

// newPKI generates a CA, a server and a client certificate into dir, or returns nil for noTLS.
func newPKI(tb testing.TB, mode tlsMode, dir string) *pki {
	tb.Helper()
	if mode == noTLS {
		return nil
	}
	dir = filepath.Join(dir, "tls")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatalf("redistest: tls: %v", err)
	}
	p := &pki{mode: mode, files: TLSFiles{
		CACert:     filepath.Join(dir, "ca.pem"),
		ServerCert: filepath.Join(dir, "server.pem"),
		ServerKey:  filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"),
		ClientKey:  filepath.Join(dir, "client-key.pem"),
	}}
	now := time.Now()
	ca := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "redistest CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, caKey := issue(tb, ca, nil, nil, p.files.CACert, "")
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		tb.Fatalf("redistest: tls: %v", err)
	}
	p.roots = x509.NewCertPool()
	p.roots.AddCert(ca)
	issue(tb, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "redistest server"},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:    []string{"localhost"},
	}, ca, caKey, p.files.ServerCert, p.files.ServerKey)
	issue(tb, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "redistest client"},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, caKey, p.files.ClientCert, p.files.ClientKey)
	if p.client, err = tls.LoadX509KeyPair(p.files.ClientCert, p.files.ClientKey); err != nil {
		tb.Fatalf("redistest: tls: %v", err)
	}
	return p
}

// issue makes a key for tmpl, has parent (tmpl itself when nil) sign it, and writes the certificate to
// certFile and, unless keyFile is empty, the key to keyFile.
func issue(tb testing.TB, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, certFile, keyFile string) ([]byte, *ecdsa.PrivateKey) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("redistest: tls: %v", err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	if tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)); err != nil {
		tb.Fatalf("redistest: tls: %v", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		tb.Fatalf("redistest: tls: %v", err)
	}
	writePEM(tb, certFile, "CERTIFICATE", der)
	if keyFile != "" {
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			tb.Fatalf("redistest: tls: %v", err)
		}
		writePEM(tb, keyFile, "PRIVATE KEY", keyDER)
	}
	return der, key
}

func writePEM(tb testing.TB, file, typ string, der []byte) {
	tb.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		tb.Fatalf("redistest: tls: %v", err)
	}
}

// serverArgs are the TLS arguments of redis-server and redis-sentinel (after --port 0 --tls-port N).
func (p *pki) serverArgs() []string {
	auth := "no"
	if p.mode == mutualTLS {
		auth = "yes"
	}
	return []string{
		"--tls-cert-file", p.files.ServerCert,
		"--tls-key-file", p.files.ServerKey,
		"--tls-ca-cert-file", p.files.CACert,
		"--tls-auth-clients", auth,
		"--tls-replication", "yes",
	}
}

// clientConfig trusts the CA and, under MutualTLS, shows the client certificate. The server name is
// left to go-redis's dialer, which takes it from each address it dials.
func (p *pki) clientConfig() *tls.Config {
	if p == nil {
		return nil
	}
	c := &tls.Config{RootCAs: p.roots, MinVersion: tls.VersionTLS12}
	if p.mode == mutualTLS {
		c.Certificates = []tls.Certificate{p.client}
	}
	return c
}

// TLSFiles are the server's PEM files; all empty without TLS.
func (s *Server) TLSFiles() TLSFiles {
	if s.pki == nil {
		return TLSFiles{}
	}
	return s.pki.files
}

// TLSConfig is a new client configuration for the server: the private CA, and the client certificate
// under MutualTLS. It is nil without TLS.
func (s *Server) TLSConfig() *tls.Config { return s.pki.clientConfig() }

// cliArgs are redis-cli's TLS arguments; none without TLS.
func (p *pki) cliArgs() []string {
	if p == nil {
		return nil
	}
	args := []string{"--tls", "--cacert", p.files.CACert}
	if p.mode == mutualTLS {
		args = append(args, "--cert", p.files.ClientCert, "--key", p.files.ClientKey)
	}
	return args
}
