package redisurl

import (
	"crypto/tls"
	"crypto/x509"
	"os"
)

// Option adds TLS files or sentinel credentials to NewClient.
type Option func(*config)

type config struct {
	caFile                     string
	certFile, keyFile          string
	sentinelAuth               bool
	sentinelUser, sentinelPass string
	err                        error
}

// CAFile trusts the CA certificates (PEM) in path instead of the system's roots, to verify the
// servers. An empty path changes nothing, so a flag's empty default can be passed as it is.
func CAFile(path string) Option { return func(c *config) { c.caFile = path } }

// ClientCert shows the certificate in certFile with the private key in keyFile (both PEM) to servers
// that ask for one (mutual TLS: tls-auth-clients yes). Two empty paths change nothing; one without the
// other is an error.
func ClientCert(certFile, keyFile string) Option {
	return func(c *config) {
		if (certFile == "") != (keyFile == "") {
			c.err = errorf("a client certificate needs both its certificate file and its key file")
		}
		c.certFile, c.keyFile = certFile, keyFile
	}
}

// SentinelAuth logs in to the sentinels (not the data nodes, whose user and password are in the
// redis+sentinel:// address) as username with password, for sentinels configured with requirepass or
// ACL users. An empty username means the default user. Only for redis+sentinel:// and
// rediss+sentinel://.
func SentinelAuth(username, password string) Option {
	return func(c *config) {
		c.sentinelAuth, c.sentinelUser, c.sentinelPass = true, username, password
	}
}

// tlsConfig adds the CA and the client certificate to base (or to a new configuration when base is
// nil). go-redis takes the server name from each address it dials when ServerName is empty.
func (c config) tlsConfig(base *tls.Config) (*tls.Config, error) {
	if base == nil {
		base = &tls.Config{}
	}
	t := base.Clone()
	if t.MinVersion == 0 {
		t.MinVersion = tls.VersionTLS12
	}
	if c.caFile != "" {
		pem, err := os.ReadFile(c.caFile)
		if err != nil {
			return nil, errorf("CA file: %v", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, errorf("CA file %s: no PEM certificate in it", c.caFile)
		}
	}
	if c.certFile != "" {
		cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
		if err != nil {
			return nil, errorf("client certificate %s with key %s: %v", c.certFile, c.keyFile, err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}
