package redistest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/redistest"
)

func TestTLS(t *testing.T) {
	s := redistest.Start(t, redistest.TLS())
	if !strings.HasPrefix(s.URL(), "rediss://127.0.0.1:") {
		t.Errorf("want a rediss:// URL, have %q", s.URL())
	}
	ctx := context.Background()
	c := s.Client(t)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if want, have := "0", c.ConfigGet(ctx, "port").Val()["port"]; want != have {
		t.Errorf("want no plain-text port (port %s), have port %s", want, have)
	}

	// The CA file alone is enough: clients are not asked for a certificate.
	roots := x509.NewCertPool()
	pem, err := os.ReadFile(s.TLSFiles().CACert)
	if err != nil || !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("CA file: %v", err)
	}
	byFile := goredis.NewClient(&goredis.Options{Addr: s.Addr, TLSConfig: &tls.Config{RootCAs: roots}})
	defer func() { _ = byFile.Close() }()
	if want, have := "v", byFile.Get(ctx, "k").Val(); want != have {
		t.Errorf("want %q, have %q", want, have)
	}

	// Without the CA the server's certificate is not trusted.
	untrusting := goredis.NewClient(&goredis.Options{Addr: s.Addr, TLSConfig: &tls.Config{}, MaxRetries: -1, DialerRetries: 1})
	defer func() { _ = untrusting.Close() }()
	if err := untrusting.Ping(ctx).Err(); err == nil {
		t.Error("want an unknown-authority error without the CA, have none")
	}
}

func TestMutualTLS(t *testing.T) {
	s := redistest.Start(t, redistest.MutualTLS())
	ctx := context.Background()
	if err := s.Client(t).Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	noCert := s.TLSConfig()
	noCert.Certificates = nil
	refused := goredis.NewClient(&goredis.Options{Addr: s.Addr, TLSConfig: noCert, MaxRetries: -1, DialerRetries: 1})
	defer func() { _ = refused.Close() }()
	if err := refused.Ping(ctx).Err(); err == nil {
		t.Error("want a client without a certificate refused, have it served")
	}

	// The client files work on their own, as a user would load them.
	files := s.TLSFiles()
	cert, err := tls.LoadX509KeyPair(files.ClientCert, files.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	withCert := s.TLSConfig()
	withCert.Certificates = []tls.Certificate{cert}
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr, TLSConfig: withCert})
	defer func() { _ = c.Close() }()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Error(err)
	}
}

func TestTLSRestart(t *testing.T) {
	s := redistest.Start(t, redistest.MutualTLS(), redistest.AppendOnly())
	c := s.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Restart(t)
	if want, have := "v", c.Get(ctx, "k").Val(); want != have {
		t.Errorf("want %q, have %q", want, have)
	}
}
