package endpoints

import (
	"crypto/tls"
	"crypto/x509"
	"time"
)

// serverConfig builds a listener's tls.Config: its certificate from a
// holder (so a reload can swap it), client certificates per client_ca,
// client_auth and allow_names.
func (k *tlsKeys) serverConfig(s *tlsSettings) (*tls.Config, *tlsCertHolder, bool) {
	p := k.p
	pair, warning, err, key := loadKeyPair(k.cert, k.key, time.Now())
	if err != nil {
		return nil, nil, errAt(p, key, "%s: %v", key, err)
	}
	if warning != "" {
		s.warnings = append(s.warnings, warning)
	}
	holder := &tlsCertHolder{}
	holder.Swap(pair)
	cfg := k.commonConfig()
	cfg.GetCertificate = holder.get
	auth := tls.NoClientCert
	if k.hasClientCA {
		pool, err := loadCAPool(k.clientCA)
		if err != nil {
			return nil, nil, errAt(p, "client_ca", "client_ca: %v", err)
		}
		cfg.ClientCAs = pool
		auth = tls.RequireAndVerifyClientCert
	}
	if k.hasClientAuth {
		switch k.clientAuth {
		case "none":
			auth = tls.NoClientCert
		case "request":
			auth = tls.VerifyClientCertIfGiven
		case "require":
			auth = tls.RequireAndVerifyClientCert
		default:
			return nil, nil, errAt(p, "client_auth", "client_auth %q: want none, request or require", k.clientAuth)
		}
		if auth != tls.NoClientCert && !k.hasClientCA {
			return nil, nil, errAt(p, "client_auth", "client_auth %s needs client_ca (the CAs that sign client certificates)", k.clientAuth)
		}
	}
	cfg.ClientAuth = auth
	if k.hasAllowNames {
		if !k.hasClientCA || auth == tls.NoClientCert {
			return nil, nil, errAt(p, "allow_names", "allow_names filters client certificates: it needs client_ca (and client_auth request or require)")
		}
		names, err := parseAllowNames(k.allowNames)
		if err != nil {
			return nil, nil, errAt(p, "allow_names", "%v", err)
		}
		// Runs after the chain is verified, on each full handshake.
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return nil // request and none given: client_auth allowed that
			}
			if leaf := cs.PeerCertificates[0]; !names.allows(leaf) {
				return errNameNotAllowed{certNames(leaf)}
			}
			return nil
		}
	}
	return cfg, holder, true
}

// clientConfig builds a connect endpoint's tls.Config: the server is
// verified against ca (else the system roots) for server_name (else the
// connect host: a name, or an IP its certificate must list), unless
// insecure: true.
func (k *tlsKeys) clientConfig(s *tlsSettings, host string) (*tls.Config, *tlsCertHolder, bool) {
	p := k.p
	cfg := k.commonConfig()
	holder := &tlsCertHolder{}
	if k.hasCert {
		pair, warning, err, key := loadKeyPair(k.cert, k.key, time.Now())
		if err != nil {
			return nil, nil, errAt(p, key, "%s: %v", key, err)
		}
		if warning != "" {
			s.warnings = append(s.warnings, warning)
		}
		holder.Swap(pair)
		cfg.GetClientCertificate = holder.getClient
	}
	if k.hasCA {
		pool, err := loadCAPool(k.ca)
		if err != nil {
			return nil, nil, errAt(p, "ca", "ca: %v", err)
		}
		cfg.RootCAs = pool
	} else if _, err := x509.SystemCertPool(); err != nil {
		return nil, nil, errAt(p, "", "tls: no ca given and the system roots cannot be read (%v): give ca", err)
	}
	cfg.ServerName = host // an IP: crypto/tls checks it against the IP SANs
	if k.hasServerName {
		if k.serverName == "" {
			return nil, nil, errAt(p, "server_name", "server_name is empty")
		}
		cfg.ServerName = k.serverName
	}
	if cfg.ServerName == "" && !s.insecure {
		return nil, nil, errAt(p, "", "tls: give server_name (the name the server's certificate must hold)")
	}
	if s.insecure {
		cfg.InsecureSkipVerify = true
	}
	return cfg, holder, true
}
